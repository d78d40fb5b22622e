import type { AuditKeyring } from "../crypto/keys";
import { fromHex } from "../crypto/encoding";
import { hmacSha256Hex, verifyHmacSha256 } from "../crypto/hmac";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { notFound } from "../errors";
import { type Checkpoint, checkpointIsAuthentic, checkpointsInRange, furthest, signedHeads } from "./checkpoints";
import { type ChainLink, ChainWalker, type RowHasher, type SealCheck, type WalkStart } from "./chain-verify";
import { canonicalStoredRow, recordFromRow, sealedMessage, type StoredRow } from "./record";
import { rowsWithinBudget } from "./read-store";
import { countUnchained, rowAtSeq, rowById, rowsInSeqRange } from "./store";

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
  complete: boolean;
};

export const keyringHasher = (keyring: AuditKeyring): RowHasher => {
  return async (keyId, message) => {
    const key = keyring.byId.get(keyId);
    return key ? hmacSha256Hex(key, message) : null;
  };
};

function isJsonValue(text: string | null) {
  if (text === null) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks each stored row's seal, a page at a time (WebCrypto verify: constant time, no hex round
 * trip). Fast: over the stored text as is. If that fails, the exact JCS of the parsed values
 * decides, so stored JSON with other bytes but the same meaning still verifies.
 */
async function sealChecks(keyring: AuditKeyring, rows: StoredRow[]): Promise<SealCheck[]> {
  return Promise.all(
    rows.map(async (row): Promise<SealCheck> => {
      const key = row.keyId === null ? undefined : keyring.byId.get(row.keyId);
      if (!key) return "unknown_key";
      const tag = sealBytes(row.rowHmac);
      // Each JSON column must be one JSON value on its own, or text could move between two
      // adjacent columns and still spell the same sealed bytes.
      if (!tag || ![row.changes, row.previousState, row.newState, row.metadata].every(isJsonValue)) return "invalid";
      if (await verifyHmacSha256(key, (row.prevHash ?? "") + canonicalStoredRow(row), tag)) return "valid";
      try {
        return (await verifyHmacSha256(key, sealedMessage(recordFromRow(row)), tag)) ? "valid" : "invalid";
      } catch {
        // Stored JSON that no longer parses, or text JCS refuses: it cannot match its seal.
        return "invalid";
      }
    }),
  );
}

/** A stored row_hmac as the 32 bytes it names, or null if it is not 64 hex digits. */
function sealBytes(rowHmac: string | null) {
  if (rowHmac === null || rowHmac.length !== 64) return null;
  try {
    return fromHex(rowHmac);
  } catch {
    return null;
  }
}

const linkOf = (row: StoredRow): ChainLink => ({
  id: row.id,
  organization_id: row.organizationId,
  seq: row.seq,
  key_id: row.keyId,
  prev_hash: row.prevHash,
  row_hmac: row.rowHmac,
});

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
  // The signed heads (D1's newest, the R2 witness): the walk must pass through them unchanged.
  const heads = await signedHeads(env, db, orgId);
  const newest = furthest(heads);
  const walker = new ChainWalker(start, keyringHasher(keyring));
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
        if (walker.pushSealed(linkOf(row), seals[i]!, pageCheckpoints.get(row.seq!))) break;
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

async function authenticCheckpoints(env: Env, db: Database, orgId: string, from: number, to: number, heads: Checkpoint[]) {
  const bySeq = new Map<number, string[]>();
  const add = (c: Checkpoint) => bySeq.set(c.seq, [...(bySeq.get(c.seq) ?? []), c.row_hmac]);
  for (const c of await checkpointsInRange(db, orgId, from, to)) {
    if (await checkpointIsAuthentic(env, c)) add(c);
  }
  for (const head of heads) if (head.seq >= from && head.seq <= to) add(head);
  return bySeq;
}
