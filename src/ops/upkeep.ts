import { lte, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { expireExports } from "../audit/export/life";
import { endedIpWindows, endedLockouts } from "../auth/attempts-store";
import { ipWindowStart, LOCKOUT_WINDOW_MS } from "../auth/login-policy";
import { database, type Database } from "../db/client";
import { idempotencyKeys, loginAttempts, loginIpWindows, securityEventKeys, sessions } from "../db/schema";
import type { Env } from "../env";
import { isoNow } from "../time";
import { deleteSome, optimizeQueryPlanner } from "./upkeep-store";

/**
 * What one invocation deletes at most: `chunkRows` rows per statement, `chunksPerTable` statements
 * per table, `exports` expired export objects. What is left, the next five-minute run deletes.
 */
export type UpkeepLimits = { chunkRows: number; chunksPerTable: number; exports: number };
export const DEFAULT_UPKEEP_LIMITS: UpkeepLimits = { chunkRows: 1000, chunksPerTable: 5, exports: 100 };

/** Rows deleted in one run past which the planner's statistics are refreshed. */
export const OPTIMIZE_AFTER_ROWS = 1000;

async function sweep(db: Database, table: SQLiteTable, where: SQL, limits: UpkeepLimits) {
  let deleted = 0;
  for (let chunk = 0; chunk < limits.chunksPerTable; chunk++) {
    const changes = await deleteSome(db, table, where, limits.chunkRows);
    deleted += changes;
    if (changes < limits.chunkRows) break;
  }
  return deleted;
}

/**
 * The five-minute cron's upkeep: expired idempotency keys of every organization (appends' and
 * security events'), expired sessions,
 * login-throttle rows that can no longer refuse a login, and export objects past their life.
 */
export async function runUpkeep(env: Env, scheduledTime: number, limits = DEFAULT_UPKEEP_LIMITS) {
  // On the platform a cron's scheduled time is never ahead of the clock; a controller that says
  // otherwise (a test moving time on) must not delete what is still live for everyone else.
  const now = Math.min(scheduledTime, Date.now());
  const at = isoNow(now);
  const db = database(env.DB);
  const swept = {
    idempotency_keys: await sweep(db, idempotencyKeys, lte(idempotencyKeys.expiresAt, at), limits),
    security_event_keys: await sweep(db, securityEventKeys, lte(securityEventKeys.expiresAt, at), limits),
    sessions: await sweep(db, sessions, lte(sessions.expiresAt, at), limits),
    login_ip_windows: await sweep(db, loginIpWindows, endedIpWindows(isoNow(ipWindowStart(now))), limits),
    login_attempts: await sweep(db, loginAttempts, endedLockouts(at, isoNow(now - LOCKOUT_WINDOW_MS)), limits),
    exports: await expireExports(env, db, now, limits.exports),
  };
  const rows = swept.idempotency_keys + swept.security_event_keys + swept.sessions + swept.login_ip_windows + swept.login_attempts;
  const optimized = rows >= OPTIMIZE_AFTER_ROWS;
  if (optimized) await optimizeQueryPlanner(db);
  return { ...swept, optimized };
}
