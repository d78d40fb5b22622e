import { and, asc, eq, gte } from "drizzle-orm";
import type { Database } from "../db/client";
import { apiTokens, organizations, sessions, users } from "../db/schema";

export type Organization = typeof organizations.$inferSelect;
export type User = typeof users.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;

export const listOrganizations = (db: Database) => db.select().from(organizations).orderBy(asc(organizations.createdAt));

/** Up to `limit` organization ids from `fromId` on (all when null), in id order: a walk over every organization resumes by id. */
export const organizationIdsFrom = async (db: Database, fromId: string | null, limit: number) =>
  (
    await db
      .select({ id: organizations.id })
      .from(organizations)
      .where(fromId === null ? undefined : gte(organizations.id, fromId))
      .orderBy(asc(organizations.id))
      .limit(limit)
  ).map((o) => o.id);

export const insertOrganization = (db: Database, row: typeof organizations.$inferInsert) => db.insert(organizations).values(row);

export const updateOrganization = (db: Database, id: string, set: Partial<Pick<Organization, "name" | "settings">>) =>
  db.update(organizations).set(set).where(eq(organizations.id, id));

export const listOrgUsers = (db: Database, orgId: string) =>
  db.select().from(users).where(eq(users.organizationId, orgId)).orderBy(asc(users.createdAt), asc(users.username));

export const findOrgUser = async (db: Database, orgId: string, userId: string) =>
  (await db.select().from(users).where(and(eq(users.organizationId, orgId), eq(users.id, userId))).limit(1))[0];

/** The organization a user belongs to, whichever it is (null: a platform operator; undefined: no such user). */
export const userOwner = async (db: Database, userId: string) =>
  (await db.select({ organizationId: users.organizationId }).from(users).where(eq(users.id, userId)).limit(1))[0]?.organizationId;

export const insertUser = (db: Database, row: typeof users.$inferInsert) => db.insert(users).values(row);

export const updateUserRole = (db: Database, userId: string, role: User["role"]) =>
  db.update(users).set({ role }).where(eq(users.id, userId));

export const deleteUserSessions = (db: Database, userId: string) => db.delete(sessions).where(eq(sessions.userId, userId));

export const deleteUser = (db: Database, userId: string) => db.delete(users).where(eq(users.id, userId));

export const listOrgTokens = (db: Database, orgId: string) =>
  db.select().from(apiTokens).where(eq(apiTokens.organizationId, orgId)).orderBy(asc(apiTokens.createdAt));

export const findOrgToken = async (db: Database, orgId: string, tokenId: string) =>
  (await db.select().from(apiTokens).where(and(eq(apiTokens.organizationId, orgId), eq(apiTokens.id, tokenId))).limit(1))[0];

/** The organization a token belongs to, whichever it is (undefined: no such token). */
export const tokenOwner = async (db: Database, tokenId: string) =>
  (await db.select({ organizationId: apiTokens.organizationId }).from(apiTokens).where(eq(apiTokens.id, tokenId)).limit(1))[0]?.organizationId;

export const insertToken = (db: Database, row: typeof apiTokens.$inferInsert) => db.insert(apiTokens).values(row);

export const revokeToken = (db: Database, tokenId: string, at: string) =>
  db.update(apiTokens).set({ revokedAt: at }).where(eq(apiTokens.id, tokenId));
