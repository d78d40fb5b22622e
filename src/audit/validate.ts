import type { AuditKeyring } from "../crypto/keys";
import { hmacSha256Hex } from "../crypto/hmac";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { notFound } from "../errors";
import { checkpointIsAuthentic, checkpointsInRange, newestCheckpoint } from "./checkpoints";
import { ChainWalker, type RowHasher, type WalkStart } from "./chain-verify";
import { type AuditRecord, recordFromRow, type StoredRow } from "./record";
import { countUnchained, rowAtSeq, rowById, rowsInSeqRange } from "./store";

export const DEFAULT_VALIDATE_LIMIT = 10_000;
export const MAX_VALIDATE_LIMIT = 100_000;
// Rows per D1 query: large enough to amortize the round trip, small enough to keep memory flat.
const PAGE_ROWS = 2_000;

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
  complete: boolean;
};

export const keyringHasher = (keyring: AuditKeyring): RowHasher => {
  return async (keyId, message) => {
    const key = keyring.byId.get(keyId);
    return key ? hmacSha256Hex(key, message) : null;
  };
};

/** A row whose stored JSON no longer parses cannot match its seal. */
function decode(row: StoredRow): AuditRecord | null {
  try {
    return recordFromRow(row);
  } catch {
    return null;
  }
}

async function startOf(db: Database, orgId: string, startId: string | undefined): Promise<WalkStart> {
  if (!startId) return { organizationId: orgId, seq: 1, prevHash: null };
  const row = await rowById(db, orgId, startId);
  if (!row || row.seq === null) throw notFound("Audit record");
  if (row.seq === 1) return { organizationId: orgId, seq: 1, prevHash: null };
  // The link into the first row checked is the previous row's seal; a missing one shows as a gap.
  const previous = await rowAtSeq(db, orgId, row.seq - 1);
  return previous ? { organizationId: orgId, seq: row.seq, prevHash: previous.rowHmac } : { organizationId: orgId, seq: row.seq - 1, prevHash: null };
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
  const start = await startOf(db, orgId, options.startId);
  let endSeq = Number.MAX_SAFE_INTEGER;
  if (options.endId) {
    const end = await rowById(db, orgId, options.endId);
    if (!end || end.seq === null) throw notFound("Audit record");
    endSeq = end.seq;
  }
  const walker = new ChainWalker(start, keyringHasher(keyring));
  let firstSeq: number | null = null;
  let nextStartId: string | null = null;
  let reachedEnd = false;

  let from = start.seq;
  while (!walker.broken) {
    const page = await rowsInSeqRange(db, orgId, from, endSeq, Math.min(PAGE_ROWS, options.limit - walker.checked + 1));
    if (page.length === 0) {
      reachedEnd = true;
      break;
    }
    const pageCheckpoints = await authenticCheckpoints(env, db, orgId, page[0]!.seq!, page.at(-1)!.seq!);
    for (const row of page) {
      if (walker.checked === options.limit) {
        nextStartId = row.id;
        break;
      }
      firstSeq ??= row.seq;
      const record = decode(row);
      if (!record) {
        walker.broken = { id: row.id, seq: row.seq, reason: "row_hmac mismatch" };
        break;
      }
      if (await walker.push(record, pageCheckpoints.get(row.seq!))) break;
    }
    if (nextStartId || walker.broken) break;
    from = page.at(-1)!.seq! + 1;
    if (from > endSeq) {
      reachedEnd = endSeq === Number.MAX_SAFE_INTEGER;
      break;
    }
  }

  const newest = await newestCheckpoint(env, db, orgId);
  if (reachedEnd && !options.endId) walker.finish(newest);
  const broken = walker.broken;
  return {
    organization_id: orgId,
    valid: broken === null,
    broken_at: broken?.id ?? null,
    broken_seq: broken?.seq ?? null,
    broken_reason: broken?.reason ?? null,
    checked: walker.checked,
    unchained: await countUnchained(db, orgId),
    first_seq: firstSeq,
    last_seq: walker.checked > 0 ? walker.lastSeq : null,
    next_start_id: broken ? null : nextStartId,
    checkpoint_seq: newest?.seq ?? null,
    complete: broken === null && nextStartId === null,
  };
}

async function authenticCheckpoints(env: Env, db: Database, orgId: string, from: number, to: number) {
  const bySeq = new Map<number, string>();
  for (const c of await checkpointsInRange(db, orgId, from, to)) {
    if (await checkpointIsAuthentic(env, c)) bySeq.set(c.seq, c.row_hmac);
  }
  return bySeq;
}
