import type { Context } from "hono";
import type { z } from "@hono/zod-openapi";
import { commitAudited } from "../audit/chain/append";
import { newApiToken, secretDigest } from "../auth/secrets";
import { scopeOrganization, withinTenancy } from "../auth/tenancy";
import type { AppEnv } from "../http/context";
import { notFound } from "../http/errors";
import { isoNow } from "../time";
import type { CreateTokenBody } from "./schemas";
import * as store from "./store";

// API tokens an org_admin creates and revokes, audited; the API routes and the dashboard's forms both call these.

const ADMINS = ["super_admin", "org_admin"] as const;

/** The new token's row and its secret: the secret exists only in this answer. */
export async function createOrgToken(c: Context<AppEnv>, orgId: string, body: z.infer<typeof CreateTokenBody>) {
  const org = await scopeOrganization(c, orgId, ADMINS);
  const token = newApiToken(org.id);
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
    { tokensChanged: true },
  );
  return { row, token };
}

/** Revokes the token (revoking a revoked one changes nothing). */
export async function revokeOrgToken(c: Context<AppEnv>, orgId: string, tokenId: string) {
  const org = await scopeOrganization(c, orgId, ADMINS);
  const db = c.get("db");
  const token = await store.findOrgToken(db, org.id, tokenId);
  if (!token) {
    // One of another tenant's is recorded as a cross-tenant attempt; the answer is the same 404.
    const owner = await store.tokenOwner(db, tokenId);
    if (owner) await withinTenancy(c, owner);
    throw notFound("Token");
  }
  if (!token.revokedAt) {
    await commitAudited(
      c,
      org.id,
      { action: "token_revoke", resourceType: "api_token", resourceId: token.id, previousState: { name: token.name, role: token.role } },
      [store.revokeToken(db, token.id, isoNow()).toSQL()],
      { tokensChanged: true },
    );
  }
}
