import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const TIERS = ["FREE", "STARTER", "PROFESSIONAL", "ENTERPRISE", "UNLIMITED"] as const;
export type Tier = (typeof TIERS)[number];

export const USER_ROLES = ["member", "org_admin", "super_admin"] as const;
export const TOKEN_ROLES = ["ingest", "org_admin"] as const;
export type UserRole = (typeof USER_ROLES)[number];
export type TokenRole = (typeof TOKEN_ROLES)[number];
export type Role = UserRole | TokenRole;

/** Free-form organization settings; `tier` is validated when read (see orgs/tier.ts). */
export type OrgSettings = { tier?: string } & Record<string, unknown>;

// Every timestamp column holds RFC 3339 UTC text with milliseconds, which sorts as time.
export const organizations = sqliteTable("organizations", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  settings: text("settings", { mode: "json" }).$type<OrgSettings>().notNull().default(sql`'{}'`),
  createdAt: text("created_at").notNull(),
});

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").references(() => organizations.id),
    username: text("username").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: USER_ROLES }).notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("users_username_unique").on(t.username), index("users_org_idx").on(t.organizationId)],
);

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id),
    name: text("name").notNull(),
    role: text("role", { enum: TOKEN_ROLES }).notNull(),
    /** SHA-256 (hex) of the token; the token itself is shown once and never stored. */
    tokenHash: text("token_hash").notNull(),
    createdBy: text("created_by"),
    createdAt: text("created_at").notNull(),
    lastUsedAt: text("last_used_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("api_tokens_hash_unique").on(t.tokenHash), index("api_tokens_org_idx").on(t.organizationId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    /** SHA-256 (hex) of the session secret carried in the signed cookie. */
    idHash: text("id_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    csrfToken: text("csrf_token").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

/**
 * Failed-login window per username (src/auth/lockout.ts). `username` is an existing user's name, or
 * `unknown:<n>`, one of a fixed number of buckets that every unknown username hashes into, so
 * guessed names cannot grow the table. `pending` counts password checks in flight that hold a slot.
 */
export const loginAttempts = sqliteTable("login_attempts", {
  username: text("username").primaryKey(),
  failures: integer("failures").notNull(),
  pending: integer("pending").notNull().default(0),
  windowStartedAt: text("window_started_at").notNull(),
  lockedUntil: text("locked_until"),
});

/**
 * Who recorded a security event: `chainproof` for what it saw itself (its own logins, lockouts,
 * tenancy checks, chain validation), `ingest` for what a client posted. Rows from before the column
 * existed are `ingest`: nothing proves chainproof wrote them, and counting a forged lockout as its
 * own is worse than leaving an old genuine one in the platform-reported column.
 */
export const SECURITY_EVENT_SOURCES = ["chainproof", "ingest"] as const;

/** Failed logins per client IP in clock-aligned windows: the per-IP budget (src/auth/ip-budget.ts). */
export const loginIpWindows = sqliteTable(
  "login_ip_windows",
  {
    ipAddress: text("ip_address").notNull(),
    windowStartedAt: text("window_started_at").notNull(),
    failures: integer("failures").notNull(),
  },
  (t) => [primaryKey({ columns: [t.ipAddress, t.windowStartedAt] }), index("login_ip_windows_window_idx").on(t.windowStartedAt)],
);

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
    alerted: integer("alerted", { mode: "boolean" }).notNull().default(false),
    source: text("source", { enum: SECURITY_EVENT_SOURCES }).notNull().default("ingest"),
  },
  (t) => [
    index("security_events_org_time_idx").on(t.organizationId, t.timestamp),
    index("security_events_org_risk_idx").on(t.organizationId, t.riskScore),
    index("security_events_org_type_time_idx").on(t.organizationId, t.eventType, t.timestamp),
  ],
);

/**
 * The chain. JSON columns hold the RFC 8785 text of their value. seq, prev_hash, row_hmac and
 * key_id are null only for legacy rows imported without a chain.
 */
export const auditLogs = sqliteTable(
  "audit_logs",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    seq: integer("seq"),
    siteId: text("site_id"),
    actorId: text("actor_id").notNull(),
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    status: text("status").notNull(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    changes: text("changes"),
    previousState: text("previous_state"),
    newState: text("new_state"),
    metadata: text("metadata").notNull(),
    timestamp: text("timestamp").notNull(),
    recordedAt: text("recorded_at").notNull(),
    keyId: text("key_id"),
    prevHash: text("prev_hash"),
    rowHmac: text("row_hmac"),
  },
  (t) => [
    uniqueIndex("audit_logs_org_seq_unique").on(t.organizationId, t.seq),
    index("audit_logs_org_time_idx").on(t.organizationId, t.timestamp, t.seq),
    index("audit_logs_org_action_time_idx").on(t.organizationId, t.action, t.timestamp),
    index("audit_logs_org_actor_time_idx").on(t.organizationId, t.actorId, t.timestamp),
    // The resource lookup filters on all three and reads newest first: one index serves both.
    index("audit_logs_org_resource_time_idx").on(t.organizationId, t.resourceType, t.resourceId, t.timestamp, t.seq),
    index("audit_logs_org_recorded_idx").on(t.organizationId, t.recordedAt),
    // Defence in depth only: validation never relies on them (an insider can rebuild the table).
    // Column names unqualified: SQLite keeps the text of a CHECK, and the table is renamed into place.
    check("audit_logs_seq_range", sql`seq IS NULL OR (typeof(seq) = 'integer' AND seq >= 1)`),
    check(
      "audit_logs_chain_fields",
      sql`(seq IS NULL AND key_id IS NULL AND prev_hash IS NULL AND row_hmac IS NULL) OR
        (seq IS NOT NULL AND key_id IS NOT NULL AND row_hmac IS NOT NULL AND (seq = 1 OR prev_hash IS NOT NULL))`,
    ),
  ],
);

/** A retried append with the same key answers the rows of the first one (seq_from..seq_to). */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    organizationId: text("organization_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    seqFrom: integer("seq_from").notNull(),
    seqTo: integer("seq_to").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.key] }), index("idempotency_keys_expiry_idx").on(t.organizationId, t.expiresAt)],
);

/** Signed statements of an organization's head (docs/protocol.md §6); R2 holds the witness copies. */
export const checkpoints = sqliteTable(
  "checkpoints",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    seq: integer("seq").notNull(),
    rowHmac: text("row_hmac").notNull(),
    issuedAt: text("issued_at").notNull(),
    kind: text("kind", { enum: ["head", "prune"] }).notNull(),
    kid: text("kid").notNull(),
    /** The exact JCS text that was signed. */
    statement: text("statement").notNull(),
    signature: text("signature").notNull(),
  },
  (t) => [index("checkpoints_org_seq_idx").on(t.organizationId, t.seq)],
);

export const EXPORT_STATUSES = ["pending", "running", "complete", "failed"] as const;

/** Uncapped exports: built in the background into R2 by multipart upload, in chunks. */
export const auditExports = sqliteTable(
  "exports",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    requestedBy: text("requested_by").notNull(),
    format: text("format", { enum: ["jsonl", "csv"] }).notNull(),
    /** The validated filters the export was requested with (JSON). */
    filters: text("filters", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: EXPORT_STATUSES }).notNull(),
    r2Key: text("r2_key").notNull(),
    uploadId: text("upload_id"),
    /** Uploaded parts so far ({partNumber, etag}[]), so work resumes across alarm invocations. */
    parts: text("parts", { mode: "json" }).$type<{ partNumber: number; etag: string }[]>().notNull().default(sql`'[]'`),
    /** Where the next chunk starts (keyset position), JSON. */
    cursor: text("cursor", { mode: "json" }).$type<Record<string, unknown> | null>(),
    rowCount: integer("row_count").notNull().default(0),
    bytes: integer("bytes").notNull().default(0),
    sha256: text("sha256"),
    error: text("error"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    completedAt: text("completed_at"),
    /** Which of the organization's concurrent-export slots a pending or running export holds. */
    slot: integer("slot"),
  },
  (t) => [
    index("exports_org_created_idx").on(t.organizationId, t.createdAt),
    // Two requests can never take one slot: the cap on concurrent exports holds under races.
    uniqueIndex("exports_active_slot_unique").on(t.organizationId, t.slot).where(sql`status IN ('pending', 'running')`),
  ],
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

/** The live platform records a compliance report is built from (services inventory). */
export const services = sqliteTable(
  "services",
  {
    organizationId: text("organization_id").notNull(),
    /** Client-chosen, e.g. svc_…; unique within the organization. */
    id: text("id").notNull(),
    name: text("name").notNull(),
    databaseType: text("database_type").notNull(),
    version: text("version").notNull(),
    status: text("status", { enum: ["provisioning", "running", "stopped", "failed", "deleting"] }).notNull(),
    zones: text("zones", { mode: "json" }).$type<string[]>().notNull(),
    storageRegion: text("storage_region").notNull(),
    storageEncrypted: integer("storage_encrypted", { mode: "boolean" }).notNull(),
    backupEncryptionEnabled: integer("backup_encryption_enabled", { mode: "boolean" }).notNull(),
    tlsEnabled: integer("tls_enabled", { mode: "boolean" }).notNull(),
    backupScheduleEnabled: integer("backup_schedule_enabled", { mode: "boolean" }).notNull(),
    backupScheduleCron: text("backup_schedule_cron"),
    backupRetentionDays: integer("backup_retention_days"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.id] })],
);

export const serviceBackups = sqliteTable(
  "service_backups",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    serviceId: text("service_id").notNull(),
    completedAt: text("completed_at").notNull(),
    type: text("type").notNull(),
    encryptionEnabled: integer("encryption_enabled", { mode: "boolean" }).notNull(),
    encryptionAlgorithm: text("encryption_algorithm"),
    recordedAt: text("recorded_at").notNull(),
  },
  (t) => [index("service_backups_service_idx").on(t.organizationId, t.serviceId, t.completedAt)],
);
