import { and, eq, gt, isNull, ne } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiTokens, organizations, sessions, users } from "../db/schema";

export const findUserByUsername = async (db: Database, username: string) =>
  (await db.select().from(users).where(eq(users.username, username)).limit(1))[0];

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

export const updatePasswordHash = (db: Database, userId: string, passwordHash: string) =>
  db.update(users).set({ passwordHash }).where(eq(users.id, userId));

/** Ends every session of the user except `keepIdHash` (the one the request came with, if any). */
export const deleteSessionsExcept = (db: Database, userId: string, keepIdHash: string | null) =>
  db.delete(sessions).where(and(eq(sessions.userId, userId), keepIdHash === null ? undefined : ne(sessions.idHash, keepIdHash)));

/** An organization by id: tenancy resolves every organization a request names through it. */
export const findOrganization = async (db: Database, id: string) =>
  (await db.select().from(organizations).where(eq(organizations.id, id)).limit(1))[0];

/** The organization's live tokens: what its chain object checks bearer tokens against. */
export const liveOrgTokens = (db: Database, orgId: string) =>
  db
    .select({ id: apiTokens.id, role: apiTokens.role, tokenHash: apiTokens.tokenHash, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .where(and(eq(apiTokens.organizationId, orgId), isNull(apiTokens.revokedAt)));
