import { and, asc, between, count, desc, eq, gt, gte, lte, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { containsText } from "../db/contains";
import { alertDeliveries, alerts, type SECURITY_EVENT_SOURCES, securityEventKeys, securityEvents, webhooks } from "../db/schema";
import type { afterAttempt } from "./alerts";

export type SecurityEventRow = typeof securityEvents.$inferSelect;
export type NewSecurityEvent = typeof securityEvents.$inferInsert;
export type AlertRow = typeof alerts.$inferSelect;
export type DeliveryRow = typeof alertDeliveries.$inferSelect;
export type WebhookRow = typeof webhooks.$inferSelect;

/** The key a posted event is stored under, and when it stops answering. */
export type EventKey = { key: string; requestHash: string; expiresAt: string; now: string };

/**
 * Stores an event and, when it raises one, its alert, in one D1 batch. The alert starts `pending`
 * (due at once) when the organization has a webhook, else `not_configured`, decided in the same
 * statement. With an Idempotency-Key the key goes in the same batch: a second request with the key
 * fails as a whole on its primary key, and stores nothing (an expired key is replaced).
 */
export async function insertSecurityEvent(db: Database, event: NewSecurityEvent, alert: { id: string; createdAt: string } | null, key?: EventKey) {
  const insertEvent = db.insert(securityEvents).values(event).returning();
  if (!alert && !key) return { event: (await insertEvent)[0]!, alertStatus: null };
  const hooked = sql`EXISTS (SELECT 1 FROM ${webhooks} WHERE ${webhooks.organizationId} = ${event.organizationId})`;
  const insertAlert = alert
    ? db
        .insert(alerts)
        .values({
          id: alert.id,
          organizationId: event.organizationId,
          securityEventId: event.id,
          createdAt: alert.createdAt,
          deliveryStatus: sql`CASE WHEN ${hooked} THEN 'pending' ELSE 'not_configured' END`,
          nextAttemptAt: sql`CASE WHEN ${hooked} THEN ${alert.createdAt} END`,
        })
        .returning({ deliveryStatus: alerts.deliveryStatus })
    : null;
  const keyStatements = key
    ? [
        db
          .delete(securityEventKeys)
          .where(and(eq(securityEventKeys.organizationId, event.organizationId!), eq(securityEventKeys.key, key.key), lte(securityEventKeys.expiresAt, key.now))),
        db.insert(securityEventKeys).values({ organizationId: event.organizationId!, key: key.key, requestHash: key.requestHash, eventId: event.id, expiresAt: key.expiresAt }),
      ]
    : [];
  const [[stored], ...rest] = await db.batch([insertEvent, ...(insertAlert ? [insertAlert] : []), ...keyStatements]);
  const raised = insertAlert ? (rest[0] as { deliveryStatus: string }[])[0] : undefined;
  return { event: stored!, alertStatus: raised?.deliveryStatus ?? null };
}

/** The event a live key stored, and the request it was stored for; undefined when the key is free. */
export async function findKeyedEvent(db: Database, organizationId: string, key: string, now: string) {
  const [row] = await db
    .select({ requestHash: securityEventKeys.requestHash, event: securityEvents })
    .from(securityEventKeys)
    .innerJoin(securityEvents, eq(securityEvents.id, securityEventKeys.eventId))
    .where(and(eq(securityEventKeys.organizationId, organizationId), eq(securityEventKeys.key, key), gt(securityEventKeys.expiresAt, now)))
    .limit(1);
  return row;
}

/**
 * One event per id however often it happens: the first occurrence inserts it, each later one adds
 * 1 to `metadata[counter]` and moves `metadata.last_at`, in the same statement.
 */
export async function upsertCountedEvent(db: Database, event: NewSecurityEvent, counter: string) {
  const path = `$.${counter}`;
  const [row] = await db
    .insert(securityEvents)
    .values({ ...event, metadata: { ...event.metadata, [counter]: 1, last_at: event.timestamp } })
    .onConflictDoUpdate({
      target: securityEvents.id,
      set: {
        metadata: sql`json_set(${securityEvents.metadata}, ${path}, coalesce(json_extract(${securityEvents.metadata}, ${path}), 0) + 1, '$.last_at', ${event.timestamp})`,
      },
    })
    .returning();
  return row!;
}

/** `organizationId` undefined means every organization (super_admin); `risk` is an inclusive range. */
export type EventFilter = {
  organizationId?: string;
  userId?: string;
  eventType?: string;
  source?: (typeof SECURITY_EVENT_SOURCES)[number];
  risk?: { min: number; max: number };
  search?: string;
  from?: string;
  to?: string;
};

/** The description, or any key or scalar value inside metadata (not its JSON punctuation). */
function searchCondition(text: string) {
  return sql`(${containsText(securityEvents.description, text)} OR EXISTS (
    SELECT 1 FROM json_tree(${securityEvents.metadata}) AS node
    WHERE (node.type IN ('text', 'integer', 'real') AND ${containsText(sql`node.atom`, text)})
       OR (typeof(node.key) = 'text' AND ${containsText(sql`node.key`, text)})))`;
}

function eventConditions(f: EventFilter): SQL | undefined {
  return and(
    f.organizationId === undefined ? undefined : eq(securityEvents.organizationId, f.organizationId),
    f.userId === undefined ? undefined : eq(securityEvents.userId, f.userId),
    f.eventType === undefined ? undefined : eq(securityEvents.eventType, f.eventType),
    f.source === undefined ? undefined : eq(securityEvents.source, f.source),
    f.risk === undefined ? undefined : between(securityEvents.riskScore, f.risk.min, f.risk.max),
    f.from === undefined ? undefined : gte(securityEvents.timestamp, f.from),
    f.to === undefined ? undefined : lte(securityEvents.timestamp, f.to),
    f.search === undefined ? undefined : searchCondition(f.search),
  );
}

const newestFirst = [desc(securityEvents.timestamp), desc(securityEvents.id)];

export async function pageSecurityEvents(db: Database, filter: EventFilter, limit: number, offset: number) {
  const where = eventConditions(filter);
  const [rows, [total]] = await db.batch([
    db.select().from(securityEvents).where(where).orderBy(...newestFirst).limit(limit).offset(offset),
    db.select({ n: count() }).from(securityEvents).where(where),
  ]);
  return { rows, total: total!.n };
}

/** Counts by event type and source, by risk score, and the newest events at or above `highRisk`. */
export async function summarizeSecurityEvents(db: Database, filter: EventFilter, highRisk: number, highRiskLimit: number) {
  const where = eventConditions(filter);
  const [byType, byRisk, highRiskRows] = await db.batch([
    db
      .select({ eventType: securityEvents.eventType, source: securityEvents.source, n: count() })
      .from(securityEvents)
      .where(where)
      .groupBy(securityEvents.eventType, securityEvents.source),
    db.select({ riskScore: securityEvents.riskScore, n: count() }).from(securityEvents).where(where).groupBy(securityEvents.riskScore),
    db
      .select()
      .from(securityEvents)
      .where(and(where, gte(securityEvents.riskScore, highRisk)))
      .orderBy(...newestFirst)
      .limit(highRiskLimit),
  ]);
  return { byType, byRisk, highRisk: highRiskRows };
}

/** A page of alerts (newest first), their events, and every delivery attempt of those alerts. */
export async function pageAlerts(db: Database, organizationId: string | undefined, limit: number, offset: number) {
  const where = organizationId === undefined ? undefined : eq(alerts.organizationId, organizationId);
  const [rows, [total]] = await db.batch([
    db.select().from(alerts).where(where).orderBy(desc(alerts.createdAt), desc(alerts.id)).limit(limit).offset(offset),
    db.select({ n: count() }).from(alerts).where(where),
  ]);
  if (rows.length === 0) return { rows, total: total!.n, events: [], deliveries: [] };
  // One bound JSON array instead of one parameter per id (D1 allows 100 per statement). No joins
  // in a batch: drizzle maps batched rows by column name, and both tables have an `id`.
  const among = (column: typeof alertDeliveries.alertId | typeof securityEvents.id, ids: string[]) =>
    sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
  const [events, deliveries] = await db.batch([
    db.select().from(securityEvents).where(among(securityEvents.id, rows.map((r) => r.securityEventId))),
    db
      .select()
      .from(alertDeliveries)
      .where(among(alertDeliveries.alertId, rows.map((r) => r.id)))
      .orderBy(asc(alertDeliveries.attemptedAt), asc(alertDeliveries.id)),
  ]);
  return { rows, total: total!.n, events, deliveries };
}

const dueWithEventAndWebhook = (db: Database) =>
  db
    .select({ alert: alerts, event: securityEvents, webhook: webhooks })
    .from(alerts)
    .innerJoin(securityEvents, eq(securityEvents.id, alerts.securityEventId))
    .leftJoin(webhooks, eq(webhooks.organizationId, alerts.organizationId));

/** The alert if it is pending and due at `now`, with its event and the organization's webhook, if any. */
export const dueAlert = async (db: Database, now: string, alertId: string) =>
  (await dueWithEventAndWebhook(db).where(and(eq(alerts.id, alertId), eq(alerts.deliveryStatus, "pending"), lte(alerts.nextAttemptAt, now))))[0];

/**
 * The due alerts of one cron run: each organization's oldest `perOrg`, in rounds (every
 * organization's oldest, then every second oldest …) up to `limit`, so one organization's backlog
 * cannot fill the run.
 */
export function dueAlertsFairly(db: Database, now: string, perOrg: number, limit: number) {
  const ranked = db
    .select({
      id: alerts.id,
      due: alerts.nextAttemptAt,
      round: sql<number>`row_number() OVER (PARTITION BY ${alerts.organizationId} ORDER BY ${alerts.nextAttemptAt}, ${alerts.id})`.as("round"),
    })
    .from(alerts)
    .where(and(eq(alerts.deliveryStatus, "pending"), lte(alerts.nextAttemptAt, now)))
    .as("ranked");
  return db
    .select({ alert: alerts, event: securityEvents, webhook: webhooks })
    .from(ranked)
    .innerJoin(alerts, eq(alerts.id, ranked.id))
    .innerJoin(securityEvents, eq(securityEvents.id, alerts.securityEventId))
    .leftJoin(webhooks, eq(webhooks.organizationId, alerts.organizationId))
    .where(lte(ranked.round, perOrg))
    .orderBy(asc(ranked.round), asc(ranked.due), asc(ranked.id))
    .limit(limit);
}

/**
 * Takes a due alert for one attempt: counts the attempt and moves next_attempt_at to the end of a
 * lease, so a concurrent cron run or request skips it. Returns the attempt number, or undefined
 * when someone else took it first.
 */
export async function claimAlert(db: Database, alertId: string, now: string, leaseUntil: string) {
  const [row] = await db
    .update(alerts)
    .set({ attempts: sql`${alerts.attempts} + 1`, lastAttemptAt: now, nextAttemptAt: leaseUntil })
    .where(and(eq(alerts.id, alertId), eq(alerts.deliveryStatus, "pending"), lte(alerts.nextAttemptAt, now)))
    .returning({ attempts: alerts.attempts });
  return row?.attempts;
}

export const markNotConfigured = (db: Database, alertId: string) =>
  db
    .update(alerts)
    .set({ deliveryStatus: "not_configured", nextAttemptAt: null })
    .where(and(eq(alerts.id, alertId), eq(alerts.deliveryStatus, "pending")));

/** The attempt's row and the alert's new state, together. */
export const recordAttempt = (db: Database, delivery: DeliveryRow, state: ReturnType<typeof afterAttempt>) =>
  db.batch([db.insert(alertDeliveries).values(delivery), db.update(alerts).set(state).where(eq(alerts.id, delivery.alertId))]);

export const findWebhook = async (db: Database, organizationId: string) =>
  (await db.select().from(webhooks).where(eq(webhooks.organizationId, organizationId)).limit(1))[0];

export const upsertWebhook = (db: Database, row: WebhookRow) =>
  db
    .insert(webhooks)
    .values(row)
    .onConflictDoUpdate({ target: webhooks.organizationId, set: { url: row.url, secretCiphertext: row.secretCiphertext, updatedAt: row.updatedAt } });

export const deleteWebhook = (db: Database, organizationId: string) => db.delete(webhooks).where(eq(webhooks.organizationId, organizationId));
