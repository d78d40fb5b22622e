import { and, asc, desc, eq, inArray, isNull, lt, lte } from "drizzle-orm";
import type { Database } from "../../db/client";
import { auditExports } from "../../db/schema";

export type ExportRow = typeof auditExports.$inferSelect;

export const insertExport = (db: Database, row: typeof auditExports.$inferInsert) => db.insert(auditExports).values(row);

export const findExport = async (db: Database, id: string) =>
  (await db.select().from(auditExports).where(eq(auditExports.id, id)).limit(1))[0];

/** The slots the organization's pending and running exports hold. */
export const activeExportSlots = async (db: Database, orgId: string) =>
  (
    await db
      .select({ slot: auditExports.slot })
      .from(auditExports)
      .where(and(eq(auditExports.organizationId, orgId), inArray(auditExports.status, ["pending", "running"])))
  ).map((e) => e.slot);

export const listExports = (db: Database, orgId: string | undefined) =>
  db
    .select()
    .from(auditExports)
    .where(orgId ? eq(auditExports.organizationId, orgId) : undefined)
    .orderBy(desc(auditExports.createdAt))
    .limit(200);

export const updateExport = (db: Database, id: string, set: Partial<ExportRow>) =>
  db.update(auditExports).set(set).where(eq(auditExports.id, id));

/** Exports whose background work has not moved since `before`: their runner needs a nudge. */
export const stalledExports = (db: Database, before: string) =>
  db
    .select({ id: auditExports.id })
    .from(auditExports)
    .where(and(inArray(auditExports.status, ["pending", "running"]), lt(auditExports.updatedAt, before)))
    .limit(100);

/** Complete exports finished at or before `completedBefore` whose file is still kept, oldest first. */
export const exportsPastLife = (db: Database, completedBefore: string, limit: number) =>
  db
    .select({ id: auditExports.id, r2Key: auditExports.r2Key })
    .from(auditExports)
    .where(and(eq(auditExports.status, "complete"), isNull(auditExports.expiredAt), lte(auditExports.completedAt, completedBefore)))
    .orderBy(asc(auditExports.completedAt))
    .limit(limit);

export const markExportsExpired = (db: Database, ids: string[], now: string) =>
  db.update(auditExports).set({ expiredAt: now, updatedAt: now }).where(inArray(auditExports.id, ids));
