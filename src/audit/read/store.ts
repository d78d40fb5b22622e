import { and, asc, count, desc, eq, gt, max, min, not, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { auditLogs } from "../../db/schema";
import { MAX_PAGE_DEPTH } from "../../http/query";
import type { StoredRow } from "../chain/stored-row";
import { type NewestFirstCursor, newestFirst, olderThan } from "./order";

/**
 * `total` counts matching rows up to here and no further, so no page costs a count of the whole
 * organization: OFFSET paging reaches no deeper anyway, and `cursor` paging needs no count.
 */
export const TOTAL_CAP = MAX_PAGE_DEPTH;

// drizzle types LIMIT as a number but writes whatever SQL it is given. A LIMIT that SQLite computes
// to 0 ends the statement before it reads a row: a WHERE condition would not (recordsPage's `when`).
const computedLimit = (expression: SQL) => expression as unknown as number;

/**
 * The newest-first page of `perPage` rows from `offset` on, and one more to tell whether any follow;
 * with `when`, no rows and nothing read unless it holds.
 */
export const recordsPage = (db: Database, where: SQL | undefined, offset: number, perPage: number, when?: SQL) =>
  db
    .select()
    .from(auditLogs)
    .where(where)
    .orderBy(...newestFirst)
    .limit(when ? computedLimit(sql`CASE WHEN ${when} THEN ${perPage + 1} ELSE 0 END`) : perPage + 1)
    .offset(offset);

/** How many rows match, counting no further than `cap`. */
export const cappedCount = (db: Database, where: SQL | undefined, cap: number) =>
  db.select({ n: count() }).from(db.select({ one: sql`1`.as("one") }).from(auditLogs).where(where).limit(cap).as("matching"));

/** A search list this short is read row by row and sorted; a longer one through the organization's index (docs/architecture.md). */
export const SHORT_SEARCH_LIST = 200;

type PageReads = {
  /** The page's conditions through the organization's index; they may hold a keyset position. */
  page: SQL | undefined;
  /** The same filters without the position, to count. */
  counted: SQL | undefined;
  /** Where the search index lists the candidates: the page's conditions on the list's path, and whether the list is short. */
  searchList?: { page: SQL | undefined; isShort: SQL };
};

/** A page and the capped count, in one batch. With a search list, one of two page statements reads: the list's when it is short, the index's otherwise. */
export async function pageOfRecords(db: Database, reads: PageReads, offset: number, perPage: number) {
  const count = cappedCount(db, reads.counted, TOTAL_CAP + 1);
  let rows: StoredRow[];
  let n: number;
  if (reads.searchList) {
    const { page, isShort } = reads.searchList;
    const [fromList, fromIndex, [total]] = await db.batch([recordsPage(db, page, offset, perPage, isShort), recordsPage(db, reads.page, offset, perPage, not(isShort)), count]);
    [rows, n] = [[...fromList, ...fromIndex], total!.n];
  } else {
    const [fromIndex, [total]] = await db.batch([recordsPage(db, reads.page, offset, perPage), count]);
    [rows, n] = [fromIndex, total!.n];
  }
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

/**
 * Per organization with matching rows: how many match, and how many of those are among the newest
 * `newest` of all (what a capped platform-wide export hands out), so each is told only its own figures.
 */
export async function matchesByOrganization(db: Database, where: SQL | undefined, newest: number) {
  const totals = await db.select({ id: auditLogs.organizationId, n: count() }).from(auditLogs).where(where).groupBy(auditLogs.organizationId);
  const top = db.select({ id: auditLogs.organizationId }).from(auditLogs).where(where).orderBy(...newestFirst).limit(newest).as("top");
  const returned = new Map((await db.select({ id: top.id, n: count() }).from(top).groupBy(top.id)).map((r) => [r.id, r.n]));
  return totals.map((t) => ({ organizationId: t.id, total: t.n, returned: returned.get(t.id) ?? 0 }));
}

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
