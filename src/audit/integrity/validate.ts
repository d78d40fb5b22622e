import type { AuditKeyring } from "../../crypto/keys";
import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { invalid, notFound } from "../../http/errors";
import type { Checkpoint } from "../chain/checkpoint-statement";
import { checkpointIsAuthentic, checkpointsInRange, furthest, signedHeads, availableCheckpointSigner } from "../chain/checkpoints";
import { rowBehindAnchor, rowOutsideSeqRange, seqGapAhead, uncoveredUnchainedRow } from "./accounting";
import { closedKeyIdsBefore } from "../chain/key-epochs";
import { type LiveStart, liveChainStart } from "../chain/live-start";
import { type ChainBreak, ChainWalker, chainLinkOf, type WalkStart } from "../chain/walker";
import { rowsWithinBudget } from "../read/store";
import { keyringHasher, sealChecks } from "../chain/seal-check";
import { countRows, countUnchained, rowAtSeq, rowById, rowsInSeqRange } from "../chain/store";

export const DEFAULT_VALIDATE_LIMIT = 10_000;
export const MAX_VALIDATE_LIMIT = 100_000;
// A page is sized to about PAGE_BYTES (up to PAGE_ROWS rows), so memory stays flat whatever the row size.
const PAGE_ROWS = 5_000;
const FIRST_PAGE_ROWS = 200;
const PAGE_BYTES = 8 * 1024 * 1024;

export type ValidationResult = {
  organization_id: string;
  valid: boolean;
  broken_at: string | null;
  broken_seq: number | null;
  broken_reason: string | null;
  checked: number;
  unchained: number;
  first_seq: number | null;
  last_seq: number | null;
  next_start_id: string | null;
  checkpoint_seq: number | null;
  /** Whether signed checkpoints guard the tail: without CHECKPOINT_SIGNING_KEY a cut tail goes unnoticed. */
  tail_protected: boolean;
  /** Rows the organization holds, on a walk from genesis to the head: walked + unchained + pruned. */
  rows_held: number | null;
  /** Rows pruned behind the newest anchor (archived in R2), and the last seq they reach. */
  pruned: number;
  pruned_through_seq: number | null;
  complete: boolean;
};

/**
 * The seq of a row named as an end of the walk. A legacy (imported) row exists but has no seq, so
 * it is no place in the walk: a 422 saying so, where a 404 would claim the row does not exist.
 */
async function seqOfNamedRow(db: Database, orgId: string, id: string, field: "start_id" | "end_id") {
  const row = await rowById(db, orgId, id);
  if (!row) throw notFound("Audit record");
  if (row.seq === null) throw invalid([{ field, message: "is an unchained (legacy) record: it has no seq, so the chain walk cannot start or end there" }]);
  return row.seq;
}

async function startOf(db: Database, live: LiveStart, orgId: string, startSeq: number | undefined): Promise<WalkStart> {
  if (startSeq === undefined || startSeq <= live.start.seq) return live.start;
  // The link into the first row checked is the previous row's seal (and its key, the epoch in
  // force); a missing one shows as a gap.
  const previous = await rowAtSeq(db, orgId, startSeq - 1);
  return previous
    ? { organizationId: orgId, seq: startSeq, prevHash: previous.rowHmac, epochKeyId: previous.keyId }
    : { organizationId: orgId, seq: startSeq - 1, prevHash: null };
}

/**
 * Walks an organization's chain by seq, a page at a time, from `startId` (or genesis) for at most
 * `limit` rows or through `endId`, against its keys and its signed checkpoints.
 */
export async function validateOrganization(
  env: Env,
  db: Database,
  keyring: AuditKeyring,
  orgId: string,
  options: { startId?: string; endId?: string; limit: number },
): Promise<ValidationResult> {
  const startSeq = options.startId ? await seqOfNamedRow(db, orgId, options.startId, "start_id") : undefined;
  const endSeq = options.endId ? await seqOfNamedRow(db, orgId, options.endId, "end_id") : Number.MAX_SAFE_INTEGER;
  // A reversed range would read no row and answer "valid, 0 checked": a wrong question, not a clean chain.
  if (startSeq !== undefined && endSeq < startSeq) throw invalid([{ field: "end_id", message: "comes before start_id in the chain: the range ends before it starts" }]);
  // After a prune the live chain starts behind the newest anchor (docs/protocol.md, "Prune anchors").
  const live = await liveChainStart(db, keyring, orgId);
  const start = await startOf(db, live, orgId, startSeq);
  // The signed heads (D1's newest, the R2 witness): the walk must pass through them unchanged.
  const heads = await signedHeads(env, db, orgId);
  const newest = furthest(heads);
  const walker = new ChainWalker({ ...start, closedKeyIds: await closedKeyIdsBefore(db, keyring, orgId, start.seq) }, keyringHasher(keyring));
  let firstSeq: number | null = null;
  let nextStartId: string | null = null;
  let reachedEnd = false;

  // The next page is read while this one is hashed: D1 and the CPU work side by side.
  const readPage = (from: number, rows: number) => rowsInSeqRange(db, orgId, from, endSeq, Math.max(1, rows));
  let next = readPage(start.seq, Math.min(FIRST_PAGE_ROWS, options.limit + 1));
  try {
    while (!walker.broken) {
      const page = await next;
      if (page.length === 0) {
        reachedEnd = true;
        break;
      }
      const from = page.at(-1)!.seq! + 1;
      const left = options.limit - walker.checked - page.length + 1;
      if (from <= endSeq) next = readPage(from, Math.min(left, rowsWithinBudget(page, PAGE_BYTES, PAGE_ROWS, FIRST_PAGE_ROWS)));
      const [pageCheckpoints, seals] = await Promise.all([
        authenticCheckpoints(env, db, orgId, page[0]!.seq!, page.at(-1)!.seq!, heads),
        sealChecks(keyring, page),
      ]);
      for (const [i, row] of page.entries()) {
        if (walker.checked === options.limit) {
          nextStartId = row.id;
          break;
        }
        firstSeq ??= row.seq;
        if (walker.pushSealed(chainLinkOf(row), seals[i]!, pageCheckpoints.get(row.seq!))) break;
      }
      if (nextStartId || walker.broken) break;
      if (from > endSeq) {
        reachedEnd = endSeq === Number.MAX_SAFE_INTEGER;
        break;
      }
    }
  } finally {
    // A page read ahead but not needed must not surface as an unhandled rejection.
    next.catch(() => undefined);
  }

  const reachedHead = reachedEnd && !options.endId;
  if (reachedHead) walker.finish(newest);
  const fromGenesis = !options.startId;
  const wholeChain = fromGenesis && reachedHead;
  const unchained = await countUnchained(db, orgId);
  const pruned = live.anchor?.pruned_count ?? 0;
  let rowsHeld: number | null = null;
  let broken: ChainBreak | null = live.broken ?? walker.broken ?? (await rowOutsideSeqRange(db, orgId));
  if (!broken && live.anchor) broken = await rowBehindAnchor(db, orgId, live.anchor.pruned_through_seq);
  if (!broken && fromGenesis) broken = await uncoveredUnchainedRow(db, keyring, orgId);
  if (!broken && fromGenesis && !reachedHead) broken = await seqGapAhead(db, orgId, live.start.seq);
  if (wholeChain) {
    const liveRows = await countRows(db, orgId);
    if (!broken && liveRows !== walker.checked + unchained) broken = { id: null, seq: null, reason: "row count mismatch" };
    rowsHeld = liveRows + pruned;
  }
  return {
    organization_id: orgId,
    valid: broken === null,
    broken_at: broken?.id ?? null,
    broken_seq: broken?.seq ?? null,
    broken_reason: broken?.reason ?? null,
    checked: walker.checked,
    unchained,
    first_seq: firstSeq,
    last_seq: walker.checked > 0 ? walker.lastSeq : null,
    next_start_id: broken ? null : nextStartId,
    checkpoint_seq: newest?.seq ?? null,
    tail_protected: (await availableCheckpointSigner(env)) !== null,
    rows_held: rowsHeld,
    pruned,
    pruned_through_seq: live.anchor?.pruned_through_seq ?? null,
    complete: broken === null && nextStartId === null,
  };
}

async function authenticCheckpoints(env: Env, db: Database, orgId: string, from: number, to: number, heads: Checkpoint[]) {
  const bySeq = new Map<number, string[]>();
  const add = (c: Checkpoint) => bySeq.set(c.seq, [...(bySeq.get(c.seq) ?? []), c.row_hmac]);
  for (const c of await checkpointsInRange(db, orgId, from, to)) {
    if (await checkpointIsAuthentic(env, c)) add(c);
  }
  for (const head of heads) if (head.seq >= from && head.seq <= to) add(head);
  return bySeq;
}
