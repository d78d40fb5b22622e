import { and, asc, desc, eq, getTableColumns, gte, isNotNull, isNull, lt, lte, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { auditLogs, checkpoints, idempotencyKeys, pruneAnchors } from "../../db/schema";
import { RECORD_MEMBERS } from "./record";
import { type StoredRow, storedTuple } from "./stored-row";

export type ChainHead = { seq: number; rowHmac: string; keyId: string | null };

export async function readHead(db: Database, orgId: string): Promise<ChainHead | null> {
  const [row] = await db
    .select({ seq: auditLogs.seq, rowHmac: auditLogs.rowHmac, keyId: auditLogs.keyId })
    .from(auditLogs)
    .where(and(eq(auditLogs.organizationId, orgId), isNotNull(auditLogs.seq)))
    .orderBy(desc(auditLogs.seq))
    .limit(1);
  if (row) return { seq: row.seq!, rowHmac: row.rowHmac!, keyId: row.keyId };
  // Every row was pruned (retention): the chain goes on from the newest prune anchor.
  return (await anchorHead(db, orgId)) ?? null;
}

/** The last pruned row as the newest prune anchor states it (its key_id is the key that sealed the anchor). */
export async function anchorHead(db: Database, orgId: string): Promise<ChainHead | undefined> {
  const anchor = await newestAnchorRow(db, orgId);
  return anchor && { seq: anchor.prunedThroughSeq, rowHmac: anchor.rowHmac, keyId: anchor.keyId };
}

/** The anchor the live chain starts from: the one furthest along. */
export const newestAnchorRow = async (db: Database, orgId: string) =>
  (await db.select().from(pruneAnchors).where(eq(pruneAnchors.organizationId, orgId)).orderBy(desc(pruneAnchors.prunedThroughSeq)).limit(1))[0];

/** Every prune anchor of the organization, oldest first. */
export const anchorsOf = (db: Database, orgId: string) =>
  db.select().from(pruneAnchors).where(eq(pruneAnchors.organizationId, orgId)).orderBy(asc(pruneAnchors.prunedThroughSeq));

/** The organization's key_rotate records before `seq` (chainproof's own and clients' alike), in seq order. */
export const keyRotateRecordsBefore = (db: Database, orgId: string, seq: number) =>
  db
    .select({ keyId: auditLogs.keyId, metadata: auditLogs.metadata })
    .from(auditLogs)
    .where(and(eq(auditLogs.organizationId, orgId), eq(auditLogs.action, "key_rotate"), lt(auditLogs.seq, seq)))
    .orderBy(asc(auditLogs.seq));

/** A chained row at or below `seq`: after a prune through `seq`, none may be left. */
export const rowAtOrBelow = async (db: Database, orgId: string, seq: number) =>
  (
    await db
      .select({ id: auditLogs.id, seq: auditLogs.seq })
      .from(auditLogs)
      .where(and(eq(auditLogs.organizationId, orgId), isNotNull(auditLogs.seq), lte(auditLogs.seq, seq)))
      .orderBy(asc(auditLogs.seq))
      .limit(1)
  )[0];


export const rowAtSeq = async (db: Database, orgId: string, seq: number) =>
  (await db.select().from(auditLogs).where(and(eq(auditLogs.organizationId, orgId), eq(auditLogs.seq, seq))).limit(1))[0];

export const rowById = async (db: Database, orgId: string, id: string) =>
  (await db.select().from(auditLogs).where(and(eq(auditLogs.organizationId, orgId), eq(auditLogs.id, id))).limit(1))[0];

// organization_id is the WHERE's own value, so it is not read back: one column of twenty on every row.
const { organizationId: _organizationId, ...PAGE_COLUMNS } = getTableColumns(auditLogs);
const PAGE_KEYS = Object.keys(PAGE_COLUMNS) as (keyof StoredRow)[];

// Every row is a copy of this one, so all share one object shape: keys added one by one made each
// row a dictionary, 8% of a validation's CPU.
const ROW_SHAPE = Object.fromEntries([["organizationId", null], ...PAGE_KEYS.map((k) => [k, null])]) as Record<string, unknown>;

/** A row as D1 answers it in raw form (values in PAGE_KEYS order); every column maps as is. */
function storedRowOf(orgId: string, values: unknown[]): StoredRow {
  const row = { ...ROW_SHAPE };
  row.organizationId = orgId;
  for (let i = 0; i < PAGE_KEYS.length; i++) row[PAGE_KEYS[i]!] = values[i];
  return row as StoredRow;
}

/**
 * The chain's rows from seq `from` to `to`, in seq order. Read as raw arrays: drizzle's mapping of
 * each column of each row cost as much CPU as checking the row's seal (validation walks 100k rows).
 */
export const rowsInSeqRange = async (db: Database, orgId: string, from: number, to: number, limit: number): Promise<StoredRow[]> =>
  (
    await db
      .select(PAGE_COLUMNS)
      .from(auditLogs)
      .where(and(eq(auditLogs.organizationId, orgId), gte(auditLogs.seq, from), lte(auditLogs.seq, to)))
      .orderBy(asc(auditLogs.seq))
      .limit(limit)
      .values()
  ).map((values) => storedRowOf(orgId, values));

export const countUnchained = async (db: Database, orgId: string) =>
  (
    await db
      .select({ n: sql<number>`count(*)` })
      .from(auditLogs)
      .where(and(eq(auditLogs.organizationId, orgId), isNull(auditLogs.seq)))
  )[0]!.n;

const INSERT_ROWS_SQL =
  `INSERT INTO audit_logs (${RECORD_MEMBERS.join(", ")}) SELECT ` +
  RECORD_MEMBERS.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ") +
  " FROM json_each(?)";

// D1 allows 100 bound parameters per statement, so rows travel as one JSON array each statement;
// a chunk stays well under the 2 MB a bound value may hold.
const CHUNK_BYTES = 512 * 1024;

/** Rows as JSON arrays, one array per INSERT, each under CHUNK_BYTES. */
function rowChunks(rows: StoredRow[]): string[] {
  const chunks: string[] = [];
  let chunk: string[] = [];
  let size = 0;
  for (const row of rows) {
    const text = JSON.stringify(storedTuple(row));
    if (size + text.length > CHUNK_BYTES && chunk.length > 0) {
      chunks.push(`[${chunk.join(",")}]`);
      chunk = [];
      size = 0;
    }
    chunk.push(text);
    size += text.length;
  }
  if (chunk.length > 0) chunks.push(`[${chunk.join(",")}]`);
  return chunks;
}

/** INSERT statements for rows, many rows per statement. */
export const insertRowStatements = (d1: D1Database, rows: StoredRow[]): D1PreparedStatement[] =>
  rowChunks(rows).map((json) => d1.prepare(INSERT_ROWS_SQL).bind(json));

/** The same INSERTs as effects that commit in the chain object's batch (legacy imports). */
export const insertRowEffects = (rows: StoredRow[]) => rowChunks(rows).map((json) => ({ sql: INSERT_ROWS_SQL, params: [json] }));

export const findIdempotencyKey = async (db: Database, orgId: string, key: string, now: string) =>
  (
    await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.organizationId, orgId), eq(idempotencyKeys.key, key), sql`${idempotencyKeys.expiresAt} > ${now}`))
      .limit(1)
  )[0];

export const insertIdempotencyKeyStatement = (d1: D1Database, row: typeof idempotencyKeys.$inferInsert) =>
  d1
    .prepare(
      "INSERT INTO idempotency_keys (organization_id, key, request_hash, seq_from, seq_to, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (organization_id, key) DO UPDATE SET request_hash = excluded.request_hash, seq_from = excluded.seq_from, " +
        "seq_to = excluded.seq_to, created_at = excluded.created_at, expires_at = excluded.expires_at",
    )
    .bind(row.organizationId, row.key, row.requestHash, row.seqFrom, row.seqTo, row.createdAt, row.expiresAt);

export const deleteExpiredIdempotencyKeysStatement = (d1: D1Database, orgId: string, now: string) =>
  d1.prepare("DELETE FROM idempotency_keys WHERE organization_id = ? AND expires_at <= ?").bind(orgId, now);

export type CheckpointRow = typeof checkpoints.$inferSelect;

/** A row whose seq no chain can hold (below 1, beyond 2^53−1, or not a number at all: SQLite sorts text above every number). */
export const firstRowOutsideSeqRange = async (db: Database, orgId: string) =>
  (
    await db
      .select({ id: auditLogs.id, seq: auditLogs.seq })
      .from(auditLogs)
      .where(and(eq(auditLogs.organizationId, orgId), sql`(${auditLogs.seq} < 1 OR ${auditLogs.seq} > ${Number.MAX_SAFE_INTEGER})`))
      .orderBy(asc(auditLogs.seq))
      .limit(1)
  )[0];

/** The chained `import` records of an organization, whichever wrote them; the caller tells chainproof's own apart. */
export const chainedImportRecords = (db: Database, orgId: string) =>
  db
    .select()
    .from(auditLogs)
    .where(and(eq(auditLogs.organizationId, orgId), eq(auditLogs.action, "import"), isNotNull(auditLogs.seq)))
    .orderBy(asc(auditLogs.seq));

/** The organization's rows with these ids (one bound JSON array, whatever the count). */
export const rowsWithIds = (db: Database, orgId: string, ids: readonly string[]) =>
  db
    .select()
    .from(auditLogs)
    .where(and(eq(auditLogs.organizationId, orgId), sql`${auditLogs.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`));

/** Ids of unchained rows after `afterId`, by id: a page at a time, so memory stays flat. */
export const unchainedIdsAfter = async (db: Database, orgId: string, afterId: string, limit: number) =>
  (
    await db
      .select({ id: auditLogs.id })
      .from(auditLogs)
      .where(and(eq(auditLogs.organizationId, orgId), isNull(auditLogs.seq), sql`${auditLogs.id} > ${afterId}`))
      .orderBy(asc(auditLogs.id))
      .limit(limit)
  ).map((r) => r.id);

export const countRows = async (db: Database, orgId: string) =>
  (await db.select({ n: sql<number>`count(*)` }).from(auditLogs).where(eq(auditLogs.organizationId, orgId)))[0]!.n;

/** How many chained rows the organization holds from `fromSeq` on, and the last seq among them. */
export const chainedSpanFrom = async (db: Database, orgId: string, fromSeq: number) =>
  (
    await db
      .select({ rows: sql<number>`count(*)`, last: sql<number | null>`max(${auditLogs.seq})` })
      .from(auditLogs)
      .where(and(eq(auditLogs.organizationId, orgId), gte(auditLogs.seq, fromSeq)))
  )[0]!;

/** The first row after `fromSeq` whose predecessor is missing: where a walk from `fromSeq` would meet a gap. */
export const firstRowAfterGap = async (db: Database, orgId: string, fromSeq: number) =>
  (
    await db
      .select({ id: auditLogs.id, seq: auditLogs.seq })
      .from(auditLogs)
      .where(
        and(
          eq(auditLogs.organizationId, orgId),
          sql`${auditLogs.seq} > ${fromSeq}`,
          sql`NOT EXISTS (SELECT 1 FROM audit_logs AS previous WHERE previous.organization_id = ${auditLogs.organizationId} AND previous.seq = ${auditLogs.seq} - 1)`,
        ),
      )
      .orderBy(asc(auditLogs.seq))
      .limit(1)
  )[0];
