import { createRoute, z } from "@hono/zod-openapi";
import { queryInteger } from "../../http/query";
import { requireRole } from "../../auth/caller";
import { scopeOrganization } from "../../auth/tenancy";
import { loadAuditKeyring } from "../../crypto/keys";
import { conflict, invalid } from "../../http/errors";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../../http/openapi";
import { spendBudget } from "../../http/rate-limits";
import { limitBody } from "../../http/request-guards";
import type { Context } from "hono";
import { type AppEnv, clientInfo } from "../../http/context";
import { securityScope } from "../../security/record";
import { announceWrite, checkpointNow } from "../chain/append";
import { recordValidationOutcome } from "./outcome";
import { listCheckpoints, availableCheckpointSigner } from "../chain/checkpoints";
import { CheckpointSchema, ValidationSchema } from "./schemas";
import { DEFAULT_VALIDATE_LIMIT, MAX_VALIDATE_LIMIT, type ValidationResult, validateOrganization } from "./validate";
import { decodeCursor, encodeCursor, MAX_ORGS_PER_CALL, validateOrganizations } from "./validate-orgs";

const integrity = newRouter();
const tags = ["Chain integrity"];

const ValidateQuery = z
  .object({
    organization_id: z.uuid().toLowerCase().optional(),
    start_id: z.uuid().toLowerCase().optional().openapi({ description: "A chained record to start the walk at; an unchained (legacy) record is a 422" }),
    end_id: z.uuid().toLowerCase().optional().openapi({ description: "A chained record to end the walk at, not before start_id; an unchained (legacy) record is a 422" }),
    limit: queryInteger(1, MAX_VALIDATE_LIMIT)
      .default(DEFAULT_VALIDATE_LIMIT)
      .openapi({ description: "Rows to check in this call; without organization_id, across all organizations together" }),
    cursor: z
      .string()
      .max(512)
      .optional()
      .openapi({ description: "Without organization_id: the previous answer's next_cursor, to continue the walk where it stopped" }),
  })
  .strict();

integrity.openapi(
  createRoute({
    method: "get",
    path: "/validate",
    operationId: "validateChain",
    tags,
    security: authenticated,
    summary: "Walk the chain by seq and report the first broken link (super_admin)",
    description:
      `Without organization_id: the organizations in id order, \`limit\` rows in total and at most ${MAX_ORGS_PER_CALL} ` +
      "organizations per call; pass `next_cursor` back as `cursor` to continue (null when done).",
    middleware: [requireRole("super_admin")] as const,
    request: { query: ValidateQuery },
    responses: { 200: json(ValidationSchema, "The walk's result"), ...errorResponses(401, 403, 404, 422, 429) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const db = c.get("db");
    if (!query.organization_id && (query.start_id || query.end_id)) {
      throw invalid([{ field: query.start_id ? "start_id" : "end_id", message: "needs organization_id" }]);
    }
    if (query.organization_id && query.cursor !== undefined) {
      throw invalid([{ field: "cursor", message: "only without organization_id; within one organization use start_id" }]);
    }
    if (query.organization_id) return c.json({ ...(await validateOne(c, query.organization_id, query)) }, 200);
    const from = query.cursor === undefined ? null : decodeCursor(query.cursor);
    if (query.cursor !== undefined && !from) {
      throw invalid([{ field: "cursor", message: "not a cursor this API handed out; pass next_cursor back unchanged" }]);
    }
    await spendBudget(c.env, "VALIDATE_BUDGET", undefined);
    const keyring = await loadAuditKeyring(c.env);
    const { results, next } = await validateOrganizations(c.env, db, keyring, from, query.limit, (result) => recordOutcome(c, result, query));
    const firstBroken = results.find((r) => !r.valid);
    return c.json(
      {
        valid: firstBroken === undefined,
        broken_at: firstBroken?.broken_at ?? null,
        broken_reason: firstBroken?.broken_reason ?? null,
        checked: results.reduce((n, r) => n + r.checked, 0),
        unchained: results.reduce((n, r) => n + r.unchained, 0),
        organization_id: firstBroken?.organization_id ?? null,
        next_start_id: null,
        next_cursor: next && encodeCursor(next),
        tail_protected: (await availableCheckpointSigner(c.env)) !== null,
        organizations: results,
      },
      200,
    );
  },
);

/** One organization's walk from `start_id` (or genesis), audited; the dashboard's "validate now" runs the same. */
export async function validateOne(c: Context<AppEnv>, orgId: string, range: { start_id?: string; end_id?: string; limit: number }) {
  const org = await scopeOrganization(c, orgId, ["super_admin"]);
  await spendBudget(c.env, "VALIDATE_BUDGET", org.id);
  const keyring = await loadAuditKeyring(c.env);
  const result = await validateOrganization(c.env, c.get("db"), keyring, org.id, { startId: range.start_id, endId: range.end_id, limit: range.limit });
  await recordOutcome(c, result, range);
  return result;
}

/** The walk is audited after it ran; the answer carries the audit record's D1 bookmark. */
async function recordOutcome(c: Context<AppEnv>, result: ValidationResult, query: { start_id?: string; end_id?: string }) {
  const validator = { caller: c.get("caller"), client: clientInfo(c) };
  const range = { start_id: query.start_id ?? null, end_id: query.end_id ?? null };
  announceWrite(c, await recordValidationOutcome(securityScope(c), validator, result, range));
}

integrity.openapi(
  createRoute({
    method: "get",
    path: "/checkpoints",
    operationId: "listCheckpoints",
    tags,
    security: authenticated,
    summary: "Signed checkpoints of an organization's head, newest first",
    request: {
      query: z
        .object({ organization_id: z.uuid().toLowerCase().optional(), limit: queryInteger(1, 1000).default(100) })
        .strict(),
    },
    responses: {
      200: json(z.object({ items: z.array(CheckpointSchema) }).openapi("CheckpointList"), "The checkpoints"),
      ...errorResponses(401, 403, 404, 422),
    },
  }),
  async (c) => {
    const caller = c.get("caller");
    const { organization_id: named, limit } = c.req.valid("query");
    const orgId = named ?? caller.organizationId;
    if (!orgId) throw invalid([{ field: "organization_id", message: "a super_admin must name the organization" }]);
    const org = await scopeOrganization(c, orgId, ["super_admin", "org_admin"]);
    return c.json({ items: await listCheckpoints(c.get("db"), org.id, limit) }, 200);
  },
);

integrity.openapi(
  createRoute({
    method: "post",
    path: "/checkpoints",
    operationId: "createCheckpoint",
    tags,
    security: authenticated,
    summary: "Sign a checkpoint of the organization's head now (super_admin)",
    middleware: [requireRole("super_admin"), limitBody(1024)] as const,
    request: { body: jsonBody(z.object({ organization_id: z.uuid().toLowerCase() }).strict().openapi("CheckpointRequest")) },
    responses: { 201: json(CheckpointSchema, "The new checkpoint"), ...errorResponses(401, 403, 404, 409, 413, 415, 422, 503) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("json").organization_id, ["super_admin"]);
    const checkpoint = await checkpointNow(c.env, org.id);
    if (!checkpoint) throw conflict("The organization's chain is empty; there is no head to sign");
    return c.json(checkpoint, 201);
  },
);

export default integrity;
