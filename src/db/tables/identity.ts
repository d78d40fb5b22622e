import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Organizations, users, API tokens, sessions and login throttling. */

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
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
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
