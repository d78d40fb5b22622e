import type { Context } from "hono";
import type { z } from "@hono/zod-openapi";
import { commitAudited } from "../audit/chain/append";
import { hashPassword } from "../auth/password";
import { findUserByUsername } from "../auth/store";
import { scopeOrganization, withinTenancy } from "../auth/tenancy";
import type { AppEnv } from "../http/context";
import { conflict, notFound } from "../http/errors";
import { isoNow } from "../time";
import type { CreateUserBody, UpdateUserBody } from "./schemas";
import * as store from "./store";

// The user changes an org_admin makes, audited; the API routes and the dashboard's forms both call these.

const ADMINS = ["super_admin", "org_admin"] as const;

export async function createOrgUser(c: Context<AppEnv>, orgId: string, body: z.infer<typeof CreateUserBody>) {
  const org = await scopeOrganization(c, orgId, ADMINS);
  const db = c.get("db");
  if (await findUserByUsername(db, body.username)) throw conflict("That username is taken");
  const user = {
    id: crypto.randomUUID(),
    organizationId: org.id,
    username: body.username,
    passwordHash: await hashPassword(body.password),
    role: body.role,
    createdAt: isoNow(),
  };
  await commitAudited(
    c,
    org.id,
    { action: "create", resourceType: "user", resourceId: user.id, newState: { username: user.username, role: user.role } },
    [store.insertUser(db, user).toSQL()],
  );
  return user;
}

/** The 404 for a user not in the organization; one of another tenant's is recorded as a cross-tenant attempt first. */
async function missingUser(c: Context<AppEnv>, userId: string) {
  const owner = await store.userOwner(c.get("db"), userId);
  if (owner) await withinTenancy(c, owner);
  return notFound("User");
}

async function scopeUser(c: Context<AppEnv>, orgId: string, userId: string) {
  const org = await scopeOrganization(c, orgId, ADMINS);
  const user = await store.findOrgUser(c.get("db"), org.id, userId);
  if (!user) throw await missingUser(c, userId);
  if (user.id === c.get("caller").actorId) throw conflict("You cannot change your own role or delete yourself");
  return { org, user };
}

export async function changeUserRole(c: Context<AppEnv>, orgId: string, userId: string, role: z.infer<typeof UpdateUserBody>["role"]) {
  const { org, user } = await scopeUser(c, orgId, userId);
  if (role !== user.role) {
    await commitAudited(
      c,
      org.id,
      { action: "role_change", resourceType: "user", resourceId: user.id, changes: { role: { old: user.role, new: role } } },
      [store.updateUserRole(c.get("db"), user.id, role).toSQL()],
    );
  }
  return { ...user, role };
}

/** Deletes the user; its sessions end with it. */
export async function deleteOrgUser(c: Context<AppEnv>, orgId: string, userId: string) {
  const { org, user } = await scopeUser(c, orgId, userId);
  const db = c.get("db");
  await commitAudited(
    c,
    org.id,
    { action: "delete", resourceType: "user", resourceId: user.id, previousState: { username: user.username, role: user.role } },
    [store.deleteUserSessions(db, user.id).toSQL(), store.deleteUser(db, user.id).toSQL()],
  );
}
