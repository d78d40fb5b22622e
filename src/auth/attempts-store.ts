import { and, eq, lt, lte, or, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { loginAttempts, loginIpWindows } from "../db/schema";

// The SQL of the lockout (lockout.ts) and the per-IP budget (ip-budget.ts). Each function is one
// statement (or one atomic batch): D1 runs statements one at a time, so a conditional upsert is
// the compare-and-set that concurrent requests cannot interleave with.

const lockedAt = (now: string) => sql`(${loginAttempts.lockedUntil} IS NOT NULL AND ${loginAttempts.lockedUntil} > ${now})`;
const sameWindow = (window: string) => sql`${loginAttempts.windowStartedAt} = ${window}`;
const releaseSlot = (window: string) => sql`CASE WHEN ${sameWindow(window)} THEN max(${loginAttempts.pending} - 1, 0) ELSE ${loginAttempts.pending} END`;

export type SlotLimits = { now: string; windowStart: string; limit: number };

/**
 * Takes one of the subject's `limit` slots for a password check, unless it is locked or every
 * slot is held (failures + checks in flight). A window older than `windowStart` starts over,
 * dropping slots leaked by requests that never finished. Answers the window the slot belongs to,
 * or undefined when refused.
 */
export async function reserveLoginSlot(db: Database, subject: string, { now, windowStart, limit }: SlotLimits) {
  const fresh = sql`${loginAttempts.windowStartedAt} > ${windowStart}`;
  const [row] = await db
    .insert(loginAttempts)
    .values({ username: subject, failures: 0, pending: 1, windowStartedAt: now })
    .onConflictDoUpdate({
      target: loginAttempts.username,
      set: {
        failures: sql`CASE WHEN ${fresh} THEN ${loginAttempts.failures} ELSE 0 END`,
        pending: sql`CASE WHEN ${fresh} THEN ${loginAttempts.pending} + 1 ELSE 1 END`,
        windowStartedAt: sql`CASE WHEN ${fresh} THEN ${loginAttempts.windowStartedAt} ELSE ${now} END`,
        lockedUntil: sql`CASE WHEN ${fresh} THEN ${loginAttempts.lockedUntil} ELSE NULL END`,
      },
      setWhere: sql`NOT ${lockedAt(now)} AND (NOT ${fresh} OR ${loginAttempts.failures} + ${loginAttempts.pending} < ${limit})`,
    })
    .returning({ window: loginAttempts.windowStartedAt });
  return row?.window;
}

export const findLoginAttempts = async (db: Database, subject: string) =>
  (await db.select().from(loginAttempts).where(eq(loginAttempts.username, subject)).limit(1))[0];

/**
 * Turns a held slot into a failure; the failure that reaches `limit` locks the subject until
 * `lockUntil`. An upsert, because an operator may have deleted the row (unlock) meanwhile.
 */
export async function recordLoginFailure(db: Database, subject: string, window: string, now: string, limit: number, lockUntil: string) {
  const failures = sql`${loginAttempts.failures} + 1`;
  const [row] = await db
    .insert(loginAttempts)
    .values({ username: subject, failures: 1, pending: 0, windowStartedAt: now })
    .onConflictDoUpdate({
      target: loginAttempts.username,
      set: {
        failures,
        pending: releaseSlot(window),
        lockedUntil: sql`CASE WHEN ${failures} >= ${limit} AND NOT ${lockedAt(now)} THEN ${lockUntil} ELSE ${loginAttempts.lockedUntil} END`,
      },
    })
    .returning();
  return row!;
}

/**
 * Gives back the slot of a check whose password was right, answering the lock as it stands now:
 * the caller refuses the login if a lock exists. A row left with nothing in it is removed.
 */
export async function releaseLoginSlot(db: Database, subject: string, window: string) {
  const [released] = await db.batch([
    db
      .update(loginAttempts)
      .set({ pending: releaseSlot(window) })
      .where(eq(loginAttempts.username, subject))
      .returning({ lockedUntil: loginAttempts.lockedUntil }),
    db
      .delete(loginAttempts)
      .where(and(eq(loginAttempts.username, subject), eq(loginAttempts.failures, 0), eq(loginAttempts.pending, 0), sql`${loginAttempts.lockedUntil} IS NULL`)),
  ]);
  return released[0]?.lockedUntil ?? null;
}

/** Counts one failure from `ip` in its window unless the window already holds `limit`; false when refused. */
export async function reserveIpFailure(db: Database, ip: string, window: string, limit: number) {
  const rows = await db
    .insert(loginIpWindows)
    .values({ ipAddress: ip, windowStartedAt: window, failures: 1 })
    .onConflictDoUpdate({
      target: [loginIpWindows.ipAddress, loginIpWindows.windowStartedAt],
      set: { failures: sql`${loginIpWindows.failures} + 1` },
      setWhere: sql`${loginIpWindows.failures} < ${limit}`,
    })
    .returning({ failures: loginIpWindows.failures });
  return rows.length === 1;
}

/** Takes back a reservation that turned out not to be a failure (right password, or a refused check). */
export const refundIpFailure = (db: Database, ip: string, window: string) => {
  const key = and(eq(loginIpWindows.ipAddress, ip), eq(loginIpWindows.windowStartedAt, window));
  return db.batch([
    db.update(loginIpWindows).set({ failures: sql`max(${loginIpWindows.failures} - 1, 0)` }).where(key),
    db.delete(loginIpWindows).where(and(key, eq(loginIpWindows.failures, 0))),
  ]);
};

/** IP windows before `currentIpWindow`: they can no longer refuse a login (the upkeep cron deletes them). */
export const endedIpWindows = (currentIpWindow: string) => lt(loginIpWindows.windowStartedAt, currentIpWindow);

/** Lockout rows whose window started at or before `lockoutWindowStart` and whose lock (if any) is over at `now`. */
export const endedLockouts = (now: string, lockoutWindowStart: string) =>
  and(lte(loginAttempts.windowStartedAt, lockoutWindowStart), or(sql`${loginAttempts.lockedUntil} IS NULL`, lte(loginAttempts.lockedUntil, now)))!;
