import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../auth/caller";
import { hashPassword } from "../auth/password";
import { newApiToken, secretDigest } from "../auth/secrets";
import { scopeOrganization } from "../auth/tenancy";
import { findUserByUsername } from "../auth/store";
import { changedFields, commitAudited } from "../audit/append";
import { conflict, forbidden, notFound } from "../errors";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../openapi";
import { limitBody } from "../request-guards";
import { isoNow } from "../time";
import {
  CreatedTokenSchema,
  CreateOrganizationBody,
  CreateTokenBody,
  CreateUserBody,
  listOf,
  OrganizationSchema,
  OrgIdParam,
  TokenIdParam,
  TokenSchema,
  toOrganization,
  toToken,
  toUser,
  UpdateOrganizationBody,
  UpdateUserBody,
  UserIdParam,
  UserSchema,
} from "./schemas";
import * as store from "./store";

const orgs = newRouter();
orgs.use(limitBody(64 * 1024));
const tags = ["Organizations"];
const security = authenticated;

orgs.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createOrganization",
    tags,
    security,
    summary: "Create an organization (super_admin)",
    middleware: [requireRole("super_admin")] as const,
    request: { body: jsonBody(CreateOrganizationBody) },
    responses: { 201: json(OrganizationSchema, "Created"), ...errorResponses(401, 403, 422) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const org = { id: crypto.randomUUID(), name: body.name, settings: body.settings ?? {}, createdAt: isoNow() };
    await commitAudited(
      c,
      org.id,
      { action: "create", resourceType: "organization", resourceId: org.id, newState: { name: org.name, settings: org.settings } },
      [store.insertOrganization(c.get("db"), org).toSQL()],
    );
    return c.json(toOrganization(org), 201);
  },
);

orgs.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listOrganizations",
    tags,
    security,
    summary: "Organizations the caller may administer (all of them for super_admin)",
    middleware: [requireRole("super_admin", "org_admin")] as const,
    responses: { 200: json(listOf(OrganizationSchema, "OrganizationList"), "The organizations"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const caller = c.get("caller");
    const db = c.get("db");
    const rows =
      caller.role === "super_admin"
        ? await store.listOrganizations(db)
        : [await store.findOrganization(db, caller.organizationId!)].filter((o) => o !== undefined);
    return c.json({ items: rows.map(toOrganization) }, 200);
  },
);

orgs.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}",
    operationId: "getOrganization",
    tags,
    security,
    summary: "One organization",
    request: { params: OrgIdParam },
    responses: { 200: json(OrganizationSchema, "The organization"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    return c.json(toOrganization(org), 200);
  },
);

orgs.openapi(
  createRoute({
    method: "patch",
    path: "/{orgId}",
    operationId: "updateOrganization",
    tags,
    security,
    summary: "Rename an organization or change its settings; the tier is super_admin's",
    request: { params: OrgIdParam, body: jsonBody(UpdateOrganizationBody) },
    responses: { 200: json(OrganizationSchema, "Updated"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    const body = c.req.valid("json");
    if (body.settings && "tier" in body.settings && c.get("caller").role !== "super_admin") {
      throw forbidden("Only a super_admin may change the tier");
    }
    const updated = { ...org, name: body.name ?? org.name, settings: body.settings ? { ...org.settings, ...body.settings } : org.settings };
    const changes = changedFields({ name: org.name, ...org.settings }, { name: updated.name, ...updated.settings });
    if (Object.keys(changes).length > 0) {
      await commitAudited(
        c,
        org.id,
        {
          action: body.settings ? "config_change" : "update",
          resourceType: "organization",
          resourceId: org.id,
          changes,
          previousState: { name: org.name, settings: org.settings },
          newState: { name: updated.name, settings: updated.settings },
        },
        [store.updateOrganization(c.get("db"), org.id, { name: updated.name, settings: updated.settings }).toSQL()],
      );
    }
    return c.json(toOrganization(updated), 200);
  },
);

orgs.openapi(
  createRoute({
    method: "post",
    path: "/{orgId}/users",
    operationId: "createUser",
    tags: ["Users"],
    security,
    summary: "Create a user in the organization",
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
    tags: ["Users"],
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
    tags: ["Users"],
    security,
    summary: "Change a user's role",
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
    tags: ["Users"],
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

orgs.openapi(
  createRoute({
    method: "post",
    path: "/{orgId}/tokens",
    operationId: "createApiToken",
    tags: ["Tokens"],
    security,
    summary: "Create an API token; the token is in this answer only",
    request: { params: OrgIdParam, body: jsonBody(CreateTokenBody) },
    responses: { 201: json(CreatedTokenSchema, "Created"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    const body = c.req.valid("json");
    const token = newApiToken();
    const row = {
      id: crypto.randomUUID(),
      organizationId: org.id,
      name: body.name,
      role: body.role,
      tokenHash: await secretDigest(token),
      createdBy: c.get("caller").actorId,
      createdAt: isoNow(),
    };
    await commitAudited(
      c,
      org.id,
      { action: "token_create", resourceType: "api_token", resourceId: row.id, newState: { name: row.name, role: row.role } },
      [store.insertToken(c.get("db"), row).toSQL()],
    );
    return c.json({ id: row.id, name: row.name, role: row.role, created_at: row.createdAt, token }, 201);
  },
);

orgs.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}/tokens",
    operationId: "listApiTokens",
    tags: ["Tokens"],
    security,
    summary: "API tokens of the organization (never the secrets)",
    request: { params: OrgIdParam },
    responses: { 200: json(listOf(TokenSchema, "TokenList"), "The tokens"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    const rows = await store.listOrgTokens(c.get("db"), org.id);
    return c.json({ items: rows.map(toToken) }, 200);
  },
);

orgs.openapi(
  createRoute({
    method: "delete",
    path: "/{orgId}/tokens/{tokenId}",
    operationId: "revokeApiToken",
    tags: ["Tokens"],
    security,
    summary: "Revoke an API token; it stops working at once",
    request: { params: TokenIdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { orgId, tokenId } = c.req.valid("param");
    const org = await scopeOrganization(c, orgId, ["super_admin", "org_admin"]);
    const db = c.get("db");
    const token = await store.findOrgToken(db, org.id, tokenId);
    if (!token) throw notFound("Token");
    if (!token.revokedAt) {
      await commitAudited(
        c,
        org.id,
        { action: "token_revoke", resourceType: "api_token", resourceId: token.id, previousState: { name: token.name, role: token.role } },
        [store.revokeToken(db, token.id, isoNow()).toSQL()],
      );
    }
    return c.body(null, 204);
  },
);

export default orgs;
