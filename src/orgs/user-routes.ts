import { createRoute } from "@hono/zod-openapi";
import { hashPassword } from "../auth/password";
import { scopeOrganization } from "../auth/tenancy";
import { findUserByUsername } from "../auth/store";
import { commitAudited } from "../audit/chain/append";
import { conflict, notFound } from "../http/errors";
import { limitBody } from "../http/request-guards";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import { isoNow } from "../time";
import {
  CreateUserBody,
  listOf,
  OrgIdParam,
  toUser,
  UpdateUserBody,
  UserIdParam,
  UserSchema } from "./schemas";
import * as store from "./store";

/** The users routes of /api/v1/organizations. */
const orgs = newRouter();
const security = authenticated;
const bodyLimit = limitBody(64 * 1024);
const tags = ["Users"];

orgs.openapi(
  createRoute({
    method: "post",
    path: "/{orgId}/users",
    operationId: "createUser",
    tags,
    security,
    summary: "Create a user in the organization",
    middleware: [bodyLimit] as const,
    request: { params: OrgIdParam, body: jsonBody(CreateUserBody) },
    responses: { 201: json(UserSchema, "Created"), ...errorResponses(401, 403, 404, 409, 422) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    const body = c.req.valid("json");
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
    return c.json(toUser(user), 201);
  },
);

orgs.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}/users",
    operationId: "listUsers",
    tags,
    security,
    summary: "Users of the organization",
    request: { params: OrgIdParam },
    responses: { 200: json(listOf(UserSchema, "UserList"), "The users"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    const rows = await store.listOrgUsers(c.get("db"), org.id);
    return c.json({ items: rows.map(toUser) }, 200);
  },
);
async function scopeUser(c: Parameters<typeof scopeOrganization>[0], orgId: string, userId: string) {
  const org = await scopeOrganization(c, orgId, ["super_admin", "org_admin"]);
  const user = await store.findOrgUser(c.get("db"), org.id, userId);
  if (!user) throw notFound("User");
  if (user.id === c.get("caller").actorId) throw conflict("You cannot change your own role or delete yourself");
  return { org, user };
}

orgs.openapi(
  createRoute({
    method: "patch",
    path: "/{orgId}/users/{userId}",
    operationId: "updateUser",
    tags,
    security,
    summary: "Change a user's role",
    middleware: [bodyLimit] as const,
    request: { params: UserIdParam, body: jsonBody(UpdateUserBody) },
    responses: { 200: json(UserSchema, "Updated"), ...errorResponses(401, 403, 404, 409, 422) },
  }),
  async (c) => {
    const { orgId, userId } = c.req.valid("param");
    const { org, user } = await scopeUser(c, orgId, userId);
    const role = c.req.valid("json").role;
    if (role !== user.role) {
      await commitAudited(
        c,
        org.id,
        { action: "role_change", resourceType: "user", resourceId: user.id, changes: { role: { old: user.role, new: role } } },
        [store.updateUserRole(c.get("db"), user.id, role).toSQL()],
      );
    }
    return c.json(toUser({ ...user, role }), 200);
  },
);

orgs.openapi(
  createRoute({
    method: "delete",
    path: "/{orgId}/users/{userId}",
    operationId: "deleteUser",
    tags,
    security,
    summary: "Delete a user (its sessions end with it)",
    request: { params: UserIdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 409) },
  }),
  async (c) => {
    const { orgId, userId } = c.req.valid("param");
    const { org, user } = await scopeUser(c, orgId, userId);
    const db = c.get("db");
    await commitAudited(
      c,
      org.id,
      { action: "delete", resourceType: "user", resourceId: user.id, previousState: { username: user.username, role: user.role } },
      [store.deleteUserSessions(db, user.id).toSQL(), store.deleteUser(db, user.id).toSQL()],
    );
    return c.body(null, 204);
  },
);


export default orgs;
