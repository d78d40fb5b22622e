import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Role } from "../db/schema";
import { forbidden, invalid, notFound } from "../http/errors";
import { findOrganization } from "./store";
import { type AppEnv, clientInfo } from "../http/context";

/**
 * Whether the caller may see objects of `ownerOrgId`. When it may not, the caller's answer is a
 * 404 exactly like a missing object's, and the attempt is recorded as a
 * `cross_tenant_access_attempt` of no organization, for the platform's operators (super_admin):
 * in the caller's own organization it would answer what the 404 hides, since an id that exists
 * elsewhere leaves an event where an unknown id leaves none. Its metadata names both
 * organizations, whichever way the object was addressed.
 */
export async function withinTenancy(c: Context<AppEnv>, ownerOrgId: string): Promise<boolean> {
  const caller = c.get("caller");
  if (caller.role === "super_admin" || caller.organizationId === ownerOrgId) return true;
  await c.get("securityLog").record({
    organizationId: null,
    userId: caller.tokenId ? null : caller.actorId,
    eventType: "cross_tenant_access_attempt",
    riskScore: 50,
    severity: "high",
    description: `Request for an object of another organization: ${c.req.method} ${new URL(c.req.url).pathname}`,
    metadata: { caller_organization_id: caller.organizationId, target_organization_id: ownerOrgId, via: caller.via, token_id: caller.tokenId },
    ...clientInfo(c),
  });
  return false;
}

const OrganizationId = z.uuid();

/**
 * Tenancy first under /api/v1/organizations/{orgId}: another tenant's organization (or none) is a
 * 404 before a route checks the caller's role or validates the body, so that neither a 403 nor a
 * 422 tells an existing foreign organization from an unknown one. A malformed id is left to the
 * route's own 422. The organization it read is the one scopeOrganization then answers.
 */
export const organizationTenancy = () =>
  createMiddleware<AppEnv>(async function organizationTenancy(c, next) {
    const id = OrganizationId.safeParse(c.req.param("orgId"));
    if (id.success) {
      const org = await findOrganization(c.get("db"), id.data.toLowerCase());
      if (!org || !(await withinTenancy(c, org.id))) throw notFound("Organization");
      c.set("pathOrganization", org);
    }
    await next();
  });

/**
 * Resolves an organization named in a request for the caller. Tenancy is checked before the role,
 * so an organization of another tenant is a 404 exactly like one that does not exist.
 */
export async function scopeOrganization(c: Context<AppEnv>, orgId: string, roles: readonly Role[]) {
  const read = c.get("pathOrganization");
  const org = read?.id === orgId ? read : await findOrganization(c.get("db"), orgId);
  if (!org || !(await withinTenancy(c, org.id))) throw notFound("Organization");
  if (!roles.includes(c.get("caller").role)) throw forbidden();
  return org;
}

const READERS = ["org_admin", "super_admin"] as const;

/**
 * Which organization a read covers: the caller's own, the one named (404 if it is another
 * tenant's), or for a super_admin who names none, every organization (undefined).
 */
export async function readScope(c: Context<AppEnv>, named: string | undefined): Promise<string | undefined> {
  if (named) return (await scopeOrganization(c, named, READERS)).id;
  const caller = c.get("caller");
  return caller.role === "super_admin" ? undefined : caller.organizationId!;
}

/**
 * The organization a write goes to: the caller's own, or the one a super_admin must name. A body
 * field naming another organization is a 422 on that field (it is input, not an address). `field`
 * is where the name sits in the body (a batch names it in its first record), so the 422 points there.
 */
export async function writeScope(c: Context<AppEnv>, named: string | undefined, field = "organization_id"): Promise<string> {
  const caller = c.get("caller");
  if (caller.role !== "super_admin") {
    if (named !== undefined && named !== caller.organizationId) {
      throw invalid([{ field, message: "is not an organization you may write to" }]);
    }
    return caller.organizationId!;
  }
  if (!named) throw invalid([{ field, message: "a super_admin must name the organization" }]);
  if (!(await findOrganization(c.get("db"), named))) throw invalid([{ field, message: "no such organization" }]);
  return named;
}
