import { and, asc, count, desc, eq, gte, isNull, lte, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { auditLogs, pruneAnchors, serviceBackups, services } from "../db/schema";
import { newestValidationRun, type ValidationRunRow } from "../ops/validation-store";

export type Service = typeof services.$inferSelect;
export type ServiceBackup = typeof serviceBackups.$inferSelect;
export type ServiceChanges = Omit<Service, "organizationId" | "id" | "createdAt">;

const ofService = (orgId: string, id: string) => and(eq(services.organizationId, orgId), eq(services.id, id));

export const findService = async (db: Database, orgId: string, id: string) =>
  (await db.select().from(services).where(ofService(orgId, id)).limit(1))[0];

export const listServices = (db: Database, orgId: string) =>
  db.select().from(services).where(eq(services.organizationId, orgId)).orderBy(asc(services.id));

export const insertService = (db: Database, row: Service) => db.insert(services).values(row);

export const updateService = (db: Database, orgId: string, id: string, set: ServiceChanges) =>
  db.update(services).set(set).where(ofService(orgId, id));

export const deleteService = (db: Database, orgId: string, id: string) => db.delete(services).where(ofService(orgId, id));

export const deleteServiceBackups = (db: Database, orgId: string, serviceId: string) =>
  db.delete(serviceBackups).where(and(eq(serviceBackups.organizationId, orgId), eq(serviceBackups.serviceId, serviceId)));

export const insertBackup = (db: Database, row: ServiceBackup) => db.insert(serviceBackups).values(row);

/** The newest backup of each service (by completed_at, then recorded_at). */
const latestBackups = (db: Database, orgId: string) =>
  db
    .select()
    .from(serviceBackups)
    .where(
      and(
        eq(serviceBackups.organizationId, orgId),
        eq(
          serviceBackups.id,
          sql`(SELECT b.id FROM service_backups b WHERE b.organization_id = ${serviceBackups.organizationId}
                 AND b.service_id = ${serviceBackups.serviceId}
               ORDER BY b.completed_at DESC, b.recorded_at DESC, b.id DESC LIMIT 1)`,
        ),
      ),
    );

/** The rows a chain can hold: a planted row with seq 0 (or text) is no entry of the log, whatever sorts first. */
const chained = (orgId: string) =>
  and(eq(auditLogs.organizationId, orgId), gte(auditLogs.seq, 1), lte(auditLogs.seq, Number.MAX_SAFE_INTEGER));

export type ChainCoverage = {
  entryCount: number;
  unchainedCount: number;
  first: { seq: number; recordedAt: string } | null;
  head: { seq: number; rowHmac: string | null } | null;
  /** The newest prune anchor's totals; null before any prune. */
  pruned: { count: number; throughSeq: number } | null;
  lastValidation: ValidationRunRow | null;
};

/** Everything a report is built from, read in one D1 batch: one consistent snapshot. */
export async function readReportSnapshot(db: Database, orgId: string) {
  const [serviceRows, backupRows, [stats], [first], [head], [unchained], [anchor], [run]] = await db.batch([
    listServices(db, orgId),
    latestBackups(db, orgId),
    db.select({ n: count(auditLogs.seq) }).from(auditLogs).where(chained(orgId)),
    db.select({ seq: auditLogs.seq, recordedAt: auditLogs.recordedAt }).from(auditLogs).where(chained(orgId)).orderBy(asc(auditLogs.seq)).limit(1),
    db.select({ seq: auditLogs.seq, rowHmac: auditLogs.rowHmac }).from(auditLogs).where(chained(orgId)).orderBy(desc(auditLogs.seq)).limit(1),
    db.select({ n: count() }).from(auditLogs).where(and(eq(auditLogs.organizationId, orgId), isNull(auditLogs.seq))),
    db
      .select({ count: pruneAnchors.prunedCount, throughSeq: pruneAnchors.prunedThroughSeq })
      .from(pruneAnchors)
      .where(eq(pruneAnchors.organizationId, orgId))
      .orderBy(desc(pruneAnchors.prunedThroughSeq))
      .limit(1),
    newestValidationRun(db, orgId),
  ]);
  const chain: ChainCoverage = {
    entryCount: stats?.n ?? 0,
    unchainedCount: unchained?.n ?? 0,
    first: first ? { seq: first.seq!, recordedAt: first.recordedAt } : null,
    head: head ? { seq: head.seq!, rowHmac: head.rowHmac } : null,
    pruned: anchor ?? null,
    lastValidation: run ?? null,
  };
  return { services: serviceRows, lastBackups: new Map(backupRows.map((b) => [b.serviceId, b])), chain };
}
