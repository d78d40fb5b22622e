import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiTokens, loginAttempts, sessions, users } from "../db/schema";

export const findUserByUsername = async (db: Database, username: string) =>
  (await db.select().from(users).where(eq(users.username, username)).limit(1))[0];

export const findUserById = async (db: Database, id: string) =>
  (await db.select().from(users).where(eq(users.id, id)).limit(1))[0];

export const findLiveTokenByHash = async (db: Database, tokenHash: string) =>
  (
    await db
      .select()
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)))
      .limit(1)
  )[0];

export const touchToken = (db: Database, id: string, at: string) =>
  db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, id));

export const insertSession = (db: Database, row: typeof sessions.$inferInsert) => db.insert(sessions).values(row);

export async function findLiveSession(db: Database, idHash: string, now: string) {
  const rows = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, now)))
    .limit(1);
  return rows[0];
}

export const deleteSession = (db: Database, idHash: string) => db.delete(sessions).where(eq(sessions.idHash, idHash));

export const findLoginAttempts = async (db: Database, username: string) =>
  (await db.select().from(loginAttempts).where(eq(loginAttempts.username, username)).limit(1))[0];

/**
 * Counts one failure in the username's window in a single statement, so concurrent guesses
 * cannot slip past the limit; a window older than `windowStart` starts over at 1.
 */
export async function countLoginFailure(
  db: Database,
  username: string,
  now: string,
  windowStart: string,
  limit: number,
  lockedUntil: string,
) {
  const fresh = sql`${loginAttempts.windowStartedAt} > ${windowStart}`;
  const failures = sql`CASE WHEN ${fresh} THEN ${loginAttempts.failures} + 1 ELSE 1 END`;
  const [row] = await db
    .insert(loginAttempts)
    .values({ username, failures: 1, windowStartedAt: now })
    .onConflictDoUpdate({
      target: loginAttempts.username,
      set: {
        failures,
        windowStartedAt: sql`CASE WHEN ${fresh} THEN ${loginAttempts.windowStartedAt} ELSE ${now} END`,
        lockedUntil: sql`CASE WHEN ${failures} >= ${limit} THEN ${lockedUntil} ELSE NULL END`,
      },
    })
    .returning();
  return row!;
}

export const clearLoginFailures = (db: Database, username: string) =>
  db.delete(loginAttempts).where(eq(loginAttempts.username, username));
