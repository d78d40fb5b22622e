import { and, asc, desc, eq, gte, isNull, lte, ne, sql } from "drizzle-orm";
import type { AnchorRow } from "../chain/anchor";
import type { Database } from "../../db/client";
import { auditArchives, auditLogs, idempotencyKeys, pruneAnchors } from "../../db/schema";

export type ArchiveRow = typeof auditArchives.$inferSelect;

export const anchorsOfArchives = (db: Database, archiveIds: readonly string[]) =>
  db
    .select()
    .from(pruneAnchors)
    .where(sql`${pruneAnchors.archiveId} IN (SELECT value FROM json_each(${JSON.stringify(archiveIds)}))`);

/** The organization's prune that has not finished, if any (at most one: a unique index says so). */
export const openArchive = async (db: Database, orgId: string) =>
  (await db.select().from(auditArchives).where(and(eq(auditArchives.organizationId, orgId), ne(auditArchives.state, "complete"))).limit(1))[0];

export const insertArchive = (db: Database, row: ArchiveRow) => db.insert(auditArchives).values(row);

export const updateArchive = (db: Database, id: string, set: Partial<ArchiveRow>) => db.update(auditArchives).set(set).where(eq(auditArchives.id, id));

export const findArchive = async (db: Database, id: string) => (await db.select().from(auditArchives).where(eq(auditArchives.id, id)).limit(1))[0];

/** Finished archives, newest first; one organization's or every organization's. */
export const listArchives = (db: Database, orgId: string | undefined, limit: number) =>
  db
    .select()
    .from(auditArchives)
    .where(and(eq(auditArchives.state, "complete"), orgId === undefined ? undefined : eq(auditArchives.organizationId, orgId)))
    .orderBy(desc(auditArchives.createdAt), desc(auditArchives.seqTo))
    .limit(limit);

/** chainproof's `import` records among seq from..to: the legacy rows they cover leave with them. */
export const importRecordsInRange = (db: Database, orgId: string, from: number, to: number) =>
  db
    .select()
    .from(auditLogs)
    .where(and(eq(auditLogs.organizationId, orgId), eq(auditLogs.action, "import"), gte(auditLogs.seq, from), lte(auditLogs.seq, to)))
    .orderBy(asc(auditLogs.seq));

/** Ids per DELETE statement: a bound JSON array stays far below the 2 MB a value may hold. */
const IDS_PER_STATEMENT = 10_000;

/**
 * The anchor stored and the rows behind it deleted in one D1 transaction, so neither exists
 * without the other; idempotency keys that point at deleted rows go with them. The unique anchor
 * per (organization, seq) makes a second run of the same prune fail as a whole.
 */
export function commitPrune(db: Database, archive: ArchiveRow, anchor: AnchorRow, legacyIds: readonly string[], now: string) {
  const org = archive.organizationId;
  const legacyChunks: string[][] = [];
  for (let i = 0; i < legacyIds.length; i += IDS_PER_STATEMENT) legacyChunks.push(legacyIds.slice(i, i + IDS_PER_STATEMENT));
  return db.batch([
    db.insert(pruneAnchors).values(anchor),
    db.delete(auditLogs).where(and(eq(auditLogs.organizationId, org), gte(auditLogs.seq, archive.seqFrom), lte(auditLogs.seq, archive.seqTo))),
    ...legacyChunks.map((ids) =>
      db
        .delete(auditLogs)
        .where(and(eq(auditLogs.organizationId, org), isNull(auditLogs.seq), sql`${auditLogs.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`)),
    ),
    db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.organizationId, org), lte(idempotencyKeys.seqTo, archive.seqTo))),
    db.update(auditArchives).set({ state: "pruned", updatedAt: now }).where(and(eq(auditArchives.id, archive.id), eq(auditArchives.state, "archived"))),
  ]);
}

/** `limit` chained rows from `from` on, by seq, with roughly the bytes each takes in an archive line. */
export const pruneCandidates = (db: Database, orgId: string, from: number, limit: number) =>
  db
    .select({
      seq: sql<number>`${auditLogs.seq}`,
      recordedAt: auditLogs.recordedAt,
      bytes: sql<number>`512 + length(${auditLogs.metadata}) + coalesce(length(${auditLogs.changes}), 0) + coalesce(length(${auditLogs.previousState}), 0) + coalesce(length(${auditLogs.newState}), 0) + coalesce(length(${auditLogs.userAgent}), 0)`,
    })
    .from(auditLogs)
    .where(and(eq(auditLogs.organizationId, orgId), gte(auditLogs.seq, from)))
    .orderBy(asc(auditLogs.seq))
    .limit(limit);
