import { and, asc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { alertDeliveries, alerts, securityEvents } from "../db/schema";

const inIds = (ids: readonly string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;

/**
 * The organization's (null: the platform's own) events stored before `cutoff`, oldest first. By
 * `recorded_at`, as the audit log: the client-sent `timestamp` could keep an event forever. The
 * few the previous code stored during the deploy of migration 0017 have none: their timestamp.
 */
export const eventsBefore = (db: Database, orgId: string | null, cutoff: string, limit: number) =>
  db
    .select()
    .from(securityEvents)
    .where(
      and(
        orgId === null ? isNull(securityEvents.organizationId) : eq(securityEvents.organizationId, orgId),
        or(lt(securityEvents.recordedAt, cutoff), and(isNull(securityEvents.recordedAt), lt(securityEvents.timestamp, cutoff))),
      ),
    )
    // In the (organization_id, recorded_at) index's order, nulls first: the scan stops at the limit,
    // where ordering by coalesce(recorded_at, timestamp) sorted every old event for each batch.
    .orderBy(asc(securityEvents.recordedAt), asc(securityEvents.id))
    .limit(limit);

export const alertsOfEvents = (db: Database, eventIds: readonly string[]) =>
  db.select().from(alerts).where(sql`${alerts.securityEventId} IN ${inIds(eventIds)}`);

export const deliveriesOfAlerts = (db: Database, alertIds: readonly string[]) =>
  db.select().from(alertDeliveries).where(sql`${alertDeliveries.alertId} IN ${inIds(alertIds)}`).orderBy(asc(alertDeliveries.attemptedAt));

/** Events, their alerts and those alerts' deliveries, gone together in one transaction. */
export const deleteEvents = (db: Database, eventIds: readonly string[], alertIds: readonly string[]) =>
  db.batch([
    db.delete(alertDeliveries).where(sql`${alertDeliveries.alertId} IN ${inIds(alertIds)}`),
    db.delete(alerts).where(sql`${alerts.securityEventId} IN ${inIds(eventIds)}`),
    db.delete(securityEvents).where(sql`${securityEvents.id} IN ${inIds(eventIds)}`),
  ]);
