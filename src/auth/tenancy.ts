import type { Context } from "hono";
import type { Role } from "../db/schema";
import { forbidden, notFound } from "../errors";
import { findOrganization } from "../orgs/store";
import { recordSecurityEvent, securityScope } from "../security/record";
import { type AppEnv, clientInfo } from "./caller";

/**
 * Resolves an organization named in a request for the caller. Tenancy is checked before the role,
 * so an organization of another tenant is a 404 exactly like one that does not exist.
 */
export async function scopeOrganization(c: Context<AppEnv>, orgId: string, roles: readonly Role[]) {
  const caller = c.get("caller");
  const db = c.get("db");
  const org = await findOrganization(db, orgId);
  if (!org) throw notFound("Organization");
  if (caller.role !== "super_admin" && caller.organizationId !== org.id) {
    await recordSecurityEvent(securityScope(c), {
      organizationId: caller.organizationId,
      userId: caller.tokenId ? null : caller.actorId,
      eventType: "cross_tenant_access_attempt",
      riskScore: 50,
      severity: "high",
      description: `Request for an object of another organization: ${c.req.method} ${new URL(c.req.url).pathname}`,
      metadata: { target_organization_id: org.id, via: caller.via, token_id: caller.tokenId },
      ...clientInfo(c),
    });
    throw notFound("Organization");
  }
  if (!roles.includes(caller.role)) throw forbidden();
  return org;
}
