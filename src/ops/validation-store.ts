import { and, desc, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { scheduledCursors, validationRuns } from "../db/schema";

export type ValidationRunRow = typeof validationRuns.$inferSelect;
export type CursorRow = typeof scheduledCursors.$inferSelect;

export const readCursor = async (db: Database, job: string) =>
  (await db.select().from(scheduledCursors).where(eq(scheduledCursors.job, job)).limit(1))[0];

export const writeCursor = (db: Database, row: CursorRow) =>
  db.insert(scheduledCursors).values(row).onConflictDoUpdate({ target: scheduledCursors.job, set: row });

export const insertValidationRun = (db: Database, row: ValidationRunRow) => db.insert(validationRuns).values(row);

/**
 * The furthest seq a valid run of the organization reached since its last failed run: where the next
 * incremental run starts. A failed run (a full pass that found a row changed behind what earlier runs
 * verified) voids their verification: until a run verifies the chain again there is no verified
 * point, so the next run walks from genesis and reports the break again instead of checking only
 * the newest rows and answering "valid".
 */
export async function lastVerifiedSeq(db: Database, orgId: string) {
  // Runs are ordered by started_at, then by insertion (rowid) for two started in the same millisecond.
  const failedSince = sql`EXISTS (SELECT 1 FROM validation_runs AS failed WHERE failed.organization_id = ${orgId}
    AND json_extract(failed.result, '$.valid') = 0
    AND (failed.started_at, failed.rowid) > (validation_runs.started_at, validation_runs.rowid))`;
  const [row] = await db
    .select({ seq: sql<number | null>`max(json_extract(${validationRuns.result}, '$.last_seq'))` })
    .from(validationRuns)
    .where(and(eq(validationRuns.organizationId, orgId), sql`json_extract(${validationRuns.result}, '$.valid') = 1`, sql`NOT ${failedSince}`));
  return row?.seq ?? null;
}

/** When the organization's newest full run started, or null when it never had one. */
export async function lastFullRunAt(db: Database, orgId: string) {
  const [row] = await db
    .select({ startedAt: validationRuns.startedAt })
    .from(validationRuns)
    .where(and(eq(validationRuns.organizationId, orgId), eq(validationRuns.kind, "full")))
    .orderBy(desc(validationRuns.startedAt))
    .limit(1);
  return row?.startedAt ?? null;
}

/** Newest first; one organization's or every organization's. */
export const listValidationRuns = (db: Database, orgId: string | undefined, limit: number) =>
  db
    .select()
    .from(validationRuns)
    .where(orgId === undefined ? undefined : eq(validationRuns.organizationId, orgId))
    .orderBy(desc(validationRuns.startedAt), desc(validationRuns.id))
    .limit(limit);

export const findValidationRun = async (db: Database, id: string) =>
  (await db.select().from(validationRuns).where(eq(validationRuns.id, id)).limit(1))[0];

/** The organization's newest run (by started_at): what its compliance report names. */
export const newestValidationRun = (db: Database, orgId: string) =>
  db
    .select()
    .from(validationRuns)
    .where(eq(validationRuns.organizationId, orgId))
    .orderBy(desc(validationRuns.startedAt), desc(validationRuns.id))
    .limit(1);
