import { requireRole } from "../auth/caller";
import { createRoute } from "@hono/zod-openapi";
import { scopeOrganization } from "../auth/tenancy";
import { commitAudited } from "../audit/chain/append";
import { invalid, notFound } from "../http/errors";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import { OrgIdParam } from "../orgs/schemas";
import { limitBody } from "../http/request-guards";
import { isoNow } from "../time";
import { CreatedWebhookSchema, WebhookInput, WebhookSchema } from "./schemas";
import { deleteWebhook, findWebhook, upsertWebhook } from "./store";
import { webhookFingerprint, webhookUrlProblem } from "./webhook-url";
import { newWebhookSecret, sealWebhookSecret } from "./webhooks";

const hooks = newRouter();
const tags = ["Webhooks"];
const ADMINS = ["super_admin", "org_admin"] as const;

hooks.openapi(
  createRoute({
    method: "put",
    path: "/{orgId}/webhook",
    operationId: "configureWebhook",
    tags,
    security: authenticated,
    summary: "Configure the organization's alert webhook; answers a new signing secret, shown only here",
    middleware: [requireRole(...ADMINS), limitBody(16 * 1024)] as const,
    request: { params: OrgIdParam, body: jsonBody(WebhookInput) },
    responses: { 201: json(CreatedWebhookSchema, "Configured"), ...errorResponses(401, 403, 404, 413, 415, 422) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ADMINS);
    const { url } = c.req.valid("json");
    const problem = webhookUrlProblem(url, c.env.ALLOW_INSECURE_WEBHOOKS === "true");
    if (problem) throw invalid([{ field: "url", message: problem }]);
    const db = c.get("db");
    const previous = await findWebhook(db, org.id);
    const secret = newWebhookSecret();
    const now = isoNow();
    const row = {
      organizationId: org.id,
      url,
      secretCiphertext: await sealWebhookSecret(c.env.SECRET_KEY, org.id, secret),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    await commitAudited(
      c,
      org.id,
      {
        action: "config_change",
        resourceType: "setting",
        resourceId: null,
        previousState: previous ? await webhookFingerprint(previous.url) : null,
        newState: await webhookFingerprint(url),
        metadata: { setting: "webhook", secret_rotated: true },
      },
      [upsertWebhook(db, row).toSQL()],
    );
    return c.json({ url, secret, created_at: row.createdAt }, 201);
  },
);

hooks.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}/webhook",
    operationId: "getWebhook",
    tags,
    security: authenticated,
    summary: "The organization's alert webhook (never its secret)",
    request: { params: OrgIdParam },
    responses: { 200: json(WebhookSchema, "The webhook"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ADMINS);
    const webhook = await findWebhook(c.get("db"), org.id);
    if (!webhook) throw notFound("Webhook");
    return c.json({ url: webhook.url, created_at: webhook.createdAt, updated_at: webhook.updatedAt }, 200);
  },
);

hooks.openapi(
  createRoute({
    method: "delete",
    path: "/{orgId}/webhook",
    operationId: "deleteWebhook",
    tags,
    security: authenticated,
    summary: "Remove the organization's alert webhook; pending alerts become not_configured",
    request: { params: OrgIdParam },
    responses: { 204: { description: "Removed" }, ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ADMINS);
    const db = c.get("db");
    const webhook = await findWebhook(db, org.id);
    if (!webhook) throw notFound("Webhook");
    await commitAudited(
      c,
      org.id,
      {
        action: "config_change",
        resourceType: "setting",
        resourceId: null,
        previousState: await webhookFingerprint(webhook.url),
        newState: null,
        metadata: { setting: "webhook" },
      },
      [deleteWebhook(db, org.id).toSQL()],
    );
    return c.body(null, 204);
  },
);

export default hooks;
