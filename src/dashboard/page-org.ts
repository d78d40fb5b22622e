import type { Context } from "hono";
import { commitAudited } from "../audit/chain/append";
import type { ResourceType } from "../audit/chain/enums";
import { scopeOrganization } from "../auth/tenancy";
import type { Role } from "../db/schema";
import type { AppEnv } from "../http/context";

/**
 * The organization a page shows: the caller's own, or the one a super_admin chose
 * (`?organization_id=`; null until it chooses). Another tenant's is a 404, like the API's.
 */
export async function pageOrganization(c: Context<AppEnv>, roles: readonly Role[]) {
  const caller = c.get("caller");
  const named = c.req.query("organization_id") || undefined;
  if (caller.role === "super_admin" && !named) return null;
  return scopeOrganization(c, named ?? caller.organizationId!, roles);
}

/**
 * Viewing audit data is itself audited (action `read`), in the viewed organization's chain, the
 * way the API records its own actions: what was shown, with which filters.
 */
export const auditView = (c: Context<AppEnv>, orgId: string, resourceType: ResourceType, resourceId: string | null, metadata: Record<string, unknown>) =>
  commitAudited(c, orgId, { action: "read", resourceType, resourceId, metadata: { dashboard: true, ...metadata } });
