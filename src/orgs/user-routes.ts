import { requireRole } from "../auth/caller";
import { createRoute } from "@hono/zod-openapi";
import { scopeOrganization } from "../auth/tenancy";
import { limitBody } from "../http/request-guards";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import {
  CreateUserBody,
  listOf,
  OrgIdParam,
  toUser,
  UpdateUserBody,
  UserIdParam,
  UserSchema } from "./schemas";
import * as store from "./store";
import { changeUserRole, createOrgUser, deleteOrgUser } from "./user-actions";

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
    middleware: [requireRole("super_admin", "org_admin"), bodyLimit] as const,
    request: { params: OrgIdParam, body: jsonBody(CreateUserBody) },
    responses: { 201: json(UserSchema, "Created"), ...errorResponses(401, 403, 404, 409, 413, 415, 422) },
  }),
  async (c) => c.json(toUser(await createOrgUser(c, c.req.valid("param").orgId, c.req.valid("json"))), 201),
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
orgs.openapi(
  createRoute({
    method: "patch",
    path: "/{orgId}/users/{userId}",
    operationId: "updateUser",
    tags,
    security,
    summary: "Change a user's role",
    middleware: [requireRole("super_admin", "org_admin"), bodyLimit] as const,
    request: { params: UserIdParam, body: jsonBody(UpdateUserBody) },
    responses: { 200: json(UserSchema, "Updated"), ...errorResponses(401, 403, 404, 409, 413, 415, 422) },
  }),
  async (c) => {
    const { orgId, userId } = c.req.valid("param");
    return c.json(toUser(await changeUserRole(c, orgId, userId, c.req.valid("json").role)), 200);
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
    await deleteOrgUser(c, orgId, userId);
    return c.body(null, 204);
  },
);

export default orgs;
