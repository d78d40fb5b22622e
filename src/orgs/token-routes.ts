import { requireRole } from "../auth/caller";
import { createRoute } from "@hono/zod-openapi";
import { scopeOrganization } from "../auth/tenancy";
import { limitBody } from "../http/request-guards";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import {
  CreatedTokenSchema,
  CreateTokenBody,
  listOf,
  OrgIdParam,
  TokenIdParam,
  TokenSchema,
  toToken } from "./schemas";
import * as store from "./store";
import { createOrgToken, revokeOrgToken } from "./token-actions";

/** The tokens routes of /api/v1/organizations. */
const orgs = newRouter();
const security = authenticated;
const bodyLimit = limitBody(64 * 1024);
const tags = ["Tokens"];

orgs.openapi(
  createRoute({
    method: "post",
    path: "/{orgId}/tokens",
    operationId: "createApiToken",
    tags,
    security,
    summary: "Create an API token; the token is in this answer only",
    middleware: [requireRole("super_admin", "org_admin"), bodyLimit] as const,
    request: { params: OrgIdParam, body: jsonBody(CreateTokenBody) },
    responses: { 201: json(CreatedTokenSchema, "Created"), ...errorResponses(401, 403, 404, 413, 415, 422) },
  }),
  async (c) => {
    const { row, token } = await createOrgToken(c, c.req.valid("param").orgId, c.req.valid("json"));
    return c.json({ id: row.id, name: row.name, role: row.role, created_at: row.createdAt, token }, 201);
  },
);

orgs.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}/tokens",
    operationId: "listApiTokens",
    tags,
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
    tags,
    security,
    summary: "Revoke an API token; it stops working at once",
    request: { params: TokenIdParam },
    responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const { orgId, tokenId } = c.req.valid("param");
    await revokeOrgToken(c, orgId, tokenId);
    return c.body(null, 204);
  },
);

export default orgs;
