import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Security events, alerts, their deliveries and the webhook they go to. */

/**
 * Who recorded a security event: `chainproof` for what it saw itself (its own logins, lockouts,
 * tenancy checks, chain validation), `ingest` for what a client posted. Rows from before the column
 * existed are `ingest`: nothing proves chainproof wrote them, and counting a forged lockout as its
 * own is worse than leaving an old genuine one in the platform-reported column.
 */
export const SECURITY_EVENT_SOURCES = ["chainproof", "ingest"] as const;

export const securityEvents = sqliteTable(
  "security_events",
  {
    id: text("id").primaryKey(),
    /** Null only for events that belong to no organization (a failed login for an unknown user). */
    organizationId: text("organization_id"),
    userId: text("user_id"),
    eventType: text("event_type").notNull(),
    severity: text("severity").notNull().default("info"),
    riskScore: integer("risk_score").notNull(),
    description: text("description"),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    timestamp: text("timestamp").notNull(),
    /**
     * When chainproof stored it; retention goes by this, never by the client-sent `timestamp`. Null
     * only for an event the previous code stored while migration 0017 was being deployed.
     */
    recordedAt: text("recorded_at").$defaultFn(() => new Date().toISOString()),
    alerted: integer("alerted", { mode: "boolean" }).notNull().default(false),
    source: text("source", { enum: SECURITY_EVENT_SOURCES }).notNull().default("ingest"),
  },
  (t) => [
    index("security_events_org_time_idx").on(t.organizationId, t.timestamp),
    index("security_events_org_risk_idx").on(t.organizationId, t.riskScore),
    index("security_events_org_type_time_idx").on(t.organizationId, t.eventType, t.timestamp),
    index("security_events_org_recorded_idx").on(t.organizationId, t.recordedAt),
  ],
);

/**
 * The Idempotency-Key of a posted security event: a retry with the same key and body answers the
 * event it stored, for 24 hours (the upkeep cron sweeps expired keys).
 */
export const securityEventKeys = sqliteTable(
  "security_event_keys",
  {
    organizationId: text("organization_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    eventId: text("event_id").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.key] }), index("security_event_keys_expires_idx").on(t.expiresAt)],
);

/** One webhook per organization; the signing secret is stored encrypted (AES-GCM, key from SECRET_KEY). */
export const webhooks = sqliteTable("webhooks", {
  organizationId: text("organization_id").primaryKey(),
  url: text("url").notNull(),
  secretCiphertext: text("secret_ciphertext").notNull(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

export const ALERT_DELIVERY_STATES = ["pending", "delivered", "failed", "not_configured"] as const;

/** Raised by every security event with risk_score >= 70. */
export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id"),
    securityEventId: text("security_event_id").notNull(),
    createdAt: text("created_at").notNull(),
    deliveryStatus: text("delivery_status", { enum: ALERT_DELIVERY_STATES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: text("next_attempt_at"),
    lastAttemptAt: text("last_attempt_at"),
    lastError: text("last_error"),
    deliveredAt: text("delivered_at"),
  },
  (t) => [
    uniqueIndex("alerts_event_unique").on(t.securityEventId),
    index("alerts_org_created_idx").on(t.organizationId, t.createdAt),
    index("alerts_due_idx").on(t.deliveryStatus, t.nextAttemptAt),
  ],
);

export const alertDeliveries = sqliteTable(
  "alert_deliveries",
  {
    id: text("id").primaryKey(),
    alertId: text("alert_id").notNull(),
    attemptedAt: text("attempted_at").notNull(),
    url: text("url").notNull(),
    statusCode: integer("status_code"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [index("alert_deliveries_alert_idx").on(t.alertId, t.attemptedAt)],
);
