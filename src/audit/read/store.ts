import { and, asc, count, desc, eq, gt, max, min, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { auditLogs } from "../../db/schema";
import { MAX_PAGE_DEPTH } from "../../http/query";
import type { StoredRow } from "../chain/record";
import { type NewestFirstCursor, newestFirst, olderThan } from "./order";

/**
 * `total` counts matching rows up to here and no further, so no page costs a count of the whole
 * organization: OFFSET paging reaches no deeper anyway, and `cursor` paging needs no count.
 */
export const TOTAL_CAP = MAX_PAGE_DEPTH;

/** The newest-first page of `perPage` rows from `offset` on, and one more to tell whether any follow. */
export const recordsPage = (db: Database, where: SQL | undefined, offset: number, perPage: number) =>
  db.select().from(auditLogs).where(where).orderBy(...newestFirst).limit(perPage + 1).offset(offset);

/** How many rows match, counting no further than `cap`. */
export const cappedCount = (db: Database, where: SQL | undefined, cap: number) =>
  db.select({ n: count() }).from(db.select({ one: sql`1`.as("one") }).from(auditLogs).where(where).limit(cap).as("matching"));

/** A page (`where` may hold a keyset position) and the capped count of `counted` (the same filters without it). */
export async function pageOfRecords(db: Database, where: SQL | undefined, counted: SQL | undefined, offset: number, perPage: number) {
  const [rows, [total]] = await db.batch([recordsPage(db, where, offset, perPage), cappedCount(db, counted, TOTAL_CAP + 1)]);
  const n = total!.n;
  return { rows: rows.slice(0, perPage), more: rows.length > perPage, total: Math.min(n, TOTAL_CAP), totalExact: n <= TOTAL_CAP };
}

export const countRecords = async (db: Database, where: SQL | undefined) =>
  (await db.select({ n: count() }).from(auditLogs).where(where))[0]!.n;

/** The first and last seq of the chained rows that match, and how many there are (legacy rows have none). */
export const chainedExtent = async (db: Database, where: SQL | undefined) =>
  (await db.select({ first: min(auditLogs.seq), last: max(auditLogs.seq), chained: count(auditLogs.seq) }).from(auditLogs).where(where))[0]!;

export const anyRecord = async (db: Database, where: SQL | undefined) =>
  (await db.select({ id: auditLogs.id }).from(auditLogs).where(where).limit(1)).length > 0;

export const recordById = async (db: Database, id: string) =>
  (await db.select().from(auditLogs).where(eq(auditLogs.id, id)).limit(1))[0];

export const newestFirstPage = (db: Database, where: SQL | undefined, after: NewestFirstCursor | null, limit: number) =>
  db
    .select()
    .from(auditLogs)
    .where(and(where, after ? olderThan(after) : undefined))
    .orderBy(...newestFirst)
    .limit(limit);

/** Chain order (seq ascending), for exports an auditor verifies as a chain. */
export const seqOrderPage = (db: Database, where: SQL | undefined, afterSeq: number, limit: number) =>
  db
    .select()
    .from(auditLogs)
    .where(and(where, gt(auditLogs.seq, afterSeq)))
    .orderBy(asc(auditLogs.seq))
    .limit(limit);

/** Legacy rows (no seq) after `afterId`, by id: they follow the chain in an export. */
export const legacyPage = (db: Database, where: SQL | undefined, afterId: string, limit: number) =>
  db
    .select()
    .from(auditLogs)
    .where(and(where, gt(auditLogs.id, afterId)))
    .orderBy(asc(auditLogs.id))
    .limit(limit);

const TOP_ACTORS = 10;

export async function activityCounts(db: Database, where: SQL | undefined) {
  const day = sql<string>`substr(${auditLogs.timestamp}, 1, 10)`;
  const [byAction, byResourceType, byStatus, topActors, perDay, [total]] = await db.batch([
    db.select({ key: auditLogs.action, n: count() }).from(auditLogs).where(where).groupBy(auditLogs.action).orderBy(desc(count()), asc(auditLogs.action)),
    db
      .select({ key: auditLogs.resourceType, n: count() })
      .from(auditLogs)
      .where(where)
      .groupBy(auditLogs.resourceType)
      .orderBy(desc(count()), asc(auditLogs.resourceType)),
    db.select({ key: auditLogs.status, n: count() }).from(auditLogs).where(where).groupBy(auditLogs.status).orderBy(asc(auditLogs.status)),
    db.select({ key: auditLogs.actorId, n: count() }).from(auditLogs).where(where).groupBy(auditLogs.actorId).orderBy(desc(count()), asc(auditLogs.actorId)).limit(TOP_ACTORS),
    db.select({ key: day, n: count() }).from(auditLogs).where(where).groupBy(day).orderBy(asc(day)),
    db.select({ n: count() }).from(auditLogs).where(where),
  ]);
  return { byAction, byResourceType, byStatus, topActors, perDay, total: total!.n };
}

export const distinctOrganizations = async (db: Database, where: SQL | undefined) =>
  (await db.selectDistinct({ id: auditLogs.organizationId }).from(auditLogs).where(where)).map((r) => r.id);

/** Roughly what a row weighs in memory as read: the fixed columns plus its free-text and JSON ones. */
const rowBytes = (r: StoredRow) =>
  400 + (r.userAgent?.length ?? 0) + (r.changes?.length ?? 0) + (r.previousState?.length ?? 0) + (r.newState?.length ?? 0) + r.metadata.length;

/**
 * How many rows the next page may hold to stay near `budgetBytes`, judged by the page before it
 * (records run from a few hundred bytes to 64 KiB, so a fixed row count is not a memory bound).
 */
export function rowsWithinBudget(previous: StoredRow[] | null, budgetBytes: number, maxRows: number, firstRows: number) {
  if (!previous || previous.length === 0) return firstRows;
  const average = previous.reduce((n, r) => n + rowBytes(r), 0) / previous.length;
  return Math.max(1, Math.min(maxRows, Math.floor(budgetBytes / average)));
}
