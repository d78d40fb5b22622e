import type { Context } from "hono";
import { commitAudited } from "../audit/chain/append";
import type { ResourceType } from "../audit/chain/enums";
import { scopeOrganization } from "../auth/tenancy";
import type { Role } from "../db/schema";
import type { AppEnv } from "../http/context";

/**
 * An id from a dashboard URL (path or query) as the API's schemas read it: a UUID in any case,
 * kept in lowercase (README.md, "ids in paths and filters is taken in any case"), so a link with
 * an uppercase id opens the same page the API answers for it. Anything else is no id: a 404 still.
 */
export const urlId = (value: string | undefined) => (value ?? "").toLowerCase();

/**
 * The organization a page shows: the caller's own, or the one a super_admin chose
 * (`?organization_id=`; null until it chooses). Another tenant's is a 404, like the API's.
 */
export async function pageOrganization(c: Context<AppEnv>, roles: readonly Role[]) {
  const caller = c.get("caller");
  const named = urlId(c.req.query("organization_id")) || undefined;
  if (caller.role === "super_admin" && !named) return null;
  return scopeOrganization(c, named ?? caller.organizationId!, roles);
}

/**
 * Viewing audit data is itself audited (action `read`), in the viewed organization's chain, the
 * way the API records its own actions: what was shown, with which filters.
 */
export const auditView = (c: Context<AppEnv>, orgId: string, resourceType: ResourceType, resourceId: string | null, metadata: Record<string, unknown>) =>
  commitAudited(c, orgId, { action: "read", resourceType, resourceId, metadata: { dashboard: true, ...metadata } });
