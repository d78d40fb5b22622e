import { assertRangeInOrder, queryInteger } from "../../http/query";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireRole } from "../../auth/caller";
import { type AppEnv } from "../../http/context";
import { scopeOrganization, withinTenancy } from "../../auth/tenancy";
import { AppError, invalid, notFound } from "../../http/errors";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../../http/openapi";
import { spendBudget } from "../../http/rate-limits";
import { limitBody } from "../../http/request-guards";
import { isoNow } from "../../time";
import { commitAudited } from "../chain/append";
import { CompactRangeSchema } from "../integrity/schemas";
import { assertLinkValid, DEFAULT_LINK_SECONDS, LinkParams, LinkQuery, MAX_LINK_SECONDS, signedDownloadPath } from "./download-links";
import { exportFilters, ExportFilters, recordedFilters } from "./filters";
import { endOfLife, EXPORT_LIFE_MS, pastItsLife } from "./life";
import { MAX_CONCURRENT_EXPORTS, freeExportSlot, tooManyExports } from "./slots";
import { exportRunnerOf } from "./runner";
import { activeExportSlots, type ExportRow, findExport, insertExport, listExports } from "./store";

const bulk = newRouter();
const tags = ["Export"];
const BASE_PATH = "/api/v1/audit/exports";

export const BulkExportBody = ExportFilters.extend({
  format: z.enum(["jsonl", "csv"]).default("jsonl"),
  organization_id: z.uuid().toLowerCase().optional().openapi({ description: "Required for super_admin" }),
})
  .strict()
  .openapi("BulkExportRequest");

const ExportSchema = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    status: z.enum(["pending", "running", "complete", "failed"]),
    format: z.enum(["jsonl", "csv"]),
    filters: z.record(z.string(), z.unknown()),
    row_count: z.number().int(),
    bytes: z.number().int(),
    sha256: z.string().nullable(),
    error: z.string().nullable(),
    created_at: z.string(),
    completed_at: z.string().nullable(),
    download_url: z.string().nullable().openapi({ description: "Signed, expiring; works without credentials. null unless complete and within its life" }),
    download_expires_at: z.string().nullable().openapi({ description: "The link's end: the asked lifetime, but never after `expires_at`" }),
    tree_head: z.string().nullable().openapi({
      description:
        "The signed tree head (docs/protocol.md §8) of the export's last chained seq: with the exported records it proves them against the public JWKS key, no secret needed. " +
        "null unless the export's chained rows are one run of seqs (a filtered export that skips rows cannot be checked against the tree as a whole), and while not complete",
    }),
    compact_range: CompactRangeSchema.nullable().openapi({
      description: "The roots of the complete subtrees of every leaf before the export's first chained seq, largest first; null when that is seq 1 or tree_head is null",
    }),
    expires_at: z.string().nullable().openapi({
      description: `When a complete export's file is deleted (${EXPORT_LIFE_MS / 86_400_000} days after completed_at); its download then answers 410`,
    }),
  })
  .openapi("Export");

export async function describeExport(c: Context<AppEnv>, job: ExportRow, lifetime: number): Promise<z.infer<typeof ExportSchema>> {
  const now = Date.now();
  const fileEnds = endOfLife(job);
  const ready = job.status === "complete" && !pastItsLife(job, now);
  // A link never outlives the file it points at.
  const expires = Math.min(Math.floor(now / 1000) + lifetime, Math.floor((fileEnds ?? Infinity) / 1000));
  const { start_date, end_date, actions, resource_types } = job.filters as Record<string, unknown>;
  return {
    id: job.id,
    organization_id: job.organizationId,
    status: job.status,
    format: job.format,
    filters: Object.fromEntries(Object.entries({ start_date, end_date, actions, resource_types }).filter(([, v]) => v !== undefined)),
    row_count: job.rowCount,
    bytes: job.bytes,
    sha256: job.sha256,
    error: job.error,
    created_at: job.createdAt,
    completed_at: job.completedAt,
    download_url: ready ? new URL(await signedDownloadPath(c.env.SECRET_KEY, BASE_PATH, job.id, expires), c.req.url).toString() : null,
    download_expires_at: ready ? isoNow(expires * 1000) : null,
    tree_head: job.treeHead,
    compact_range: job.compactRange,
    expires_at: fileEnds === null ? null : isoNow(fileEnds),
  };
}

// As on the capped export (POST /audit/export), the organization may be named in the query.
const NamedOrganization = z
  .object({ organization_id: z.uuid().toLowerCase().optional().openapi({ description: "Required for super_admin, here or in the body" }) })
  .strict();

/** The body with the organization the query names; naming two different ones is a 422. */
function withNamedOrganization(body: z.infer<typeof BulkExportBody>, named: string | undefined) {
  if (named && body.organization_id && named !== body.organization_id) {
    throw invalid([{ field: "organization_id", message: "the query and the body name different organizations" }]);
  }
  return { ...body, organization_id: body.organization_id ?? named };
}

/** The export as the caller may see it; another tenant's is a 404 like a missing one. */
async function visibleExport(c: Context<AppEnv>, id: string) {
  const job = await findExport(c.get("db"), id);
  if (!job || !(await withinTenancy(c, job.organizationId))) throw notFound("Export");
  return job;
}

bulk.openapi(
  createRoute({
    method: "post",
    path: "/exports",
    operationId: "createExport",
    tags,
    security: authenticated,
    summary: "Start an uncapped export into R2 (JSONL with every chain field, or CSV); built in the background",
    description: `At most ${MAX_CONCURRENT_EXPORTS} exports per organization may be pending or running; another is a 429 \`too_many_exports\`.`,
    middleware: [requireRole("org_admin", "super_admin"), limitBody(16 * 1024)] as const,
    request: { query: NamedOrganization, body: jsonBody(BulkExportBody) },
    responses: {
      202: json(z.object({ id: z.string(), status: z.string() }).openapi("ExportAccepted"), "Accepted"),
      ...errorResponses(401, 403, 404, 413, 415, 422, 429),
    },
  }),
  async (c) => c.json({ id: await requestBulkExport(c, withNamedOrganization(c.req.valid("json"), c.req.valid("query").organization_id)), status: "pending" }, 202),
);

/** Records the export (audited, in one of the organization's slots) and starts its runner; answers its id. */
export async function requestBulkExport(c: Context<AppEnv>, body: z.infer<typeof BulkExportBody>) {
  const caller = c.get("caller");
  assertRangeInOrder(body.start_date, body.end_date);
  if (caller.role === "super_admin" && !body.organization_id) {
    throw invalid([{ field: "organization_id", message: "a super_admin must name the organization" }]);
  }
  const orgId = body.organization_id ?? caller.organizationId!;
  await scopeOrganization(c, orgId, ["org_admin", "super_admin"]);
  await spendBudget(c.env, "EXPORT_BUDGET", orgId);
  const now = isoNow();
  const id = crypto.randomUUID();
  const job = {
    id,
    organizationId: orgId,
    requestedBy: caller.actorId,
    format: body.format,
    filters: exportFilters(body, orgId, now),
    status: "pending" as const,
    r2Key: `exports/${orgId}/${id}.${body.format}`,
    createdAt: now,
    updatedAt: now,
  };
  const audit = { action: "export", resourceType: "export", resourceId: id, metadata: { format: body.format, filters: recordedFilters(body), capped: false } } as const;
  for (let attempt = 1; ; attempt++) {
    const slot = freeExportSlot(await activeExportSlots(c.get("db"), orgId));
    if (slot === null) throw tooManyExports();
    try {
      await commitAudited(c, orgId, audit, [insertExport(c.get("db"), { ...job, slot }).toSQL()]);
      break;
    } catch (err) {
      // A concurrent request took that slot after we read it (the unique index refused ours): look again.
      if (!(err instanceof AppError && err.code === "conflict")) throw err;
      if (attempt > MAX_CONCURRENT_EXPORTS) throw tooManyExports();
    }
  }
  await exportRunnerOf(c.env, id).start(id);
  return id;
}

bulk.openapi(
  createRoute({
    method: "get",
    path: "/exports",
    operationId: "listExports",
    tags,
    security: authenticated,
    summary: "An organization's exports, newest first",
    middleware: [requireRole("org_admin", "super_admin")] as const,
    request: { query: z.object({ organization_id: z.uuid().toLowerCase().optional() }).strict() },
    responses: { 200: json(z.object({ items: z.array(ExportSchema) }).openapi("ExportList"), "The exports"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const caller = c.get("caller");
    const named = c.req.valid("query").organization_id;
    const orgId = caller.role === "super_admin" ? named : caller.organizationId!;
    if (named) await scopeOrganization(c, named, ["org_admin", "super_admin"]);
    const rows = await listExports(c.get("db"), orgId);
    return c.json({ items: await Promise.all(rows.map((job) => describeExport(c, job, DEFAULT_LINK_SECONDS))) }, 200);
  },
);

bulk.openapi(
  createRoute({
    method: "get",
    path: "/exports/{id}",
    operationId: "getExport",
    tags,
    security: authenticated,
    summary: "An export's status, counts, SHA-256 and (when complete) a signed download link",
    middleware: [requireRole("org_admin", "super_admin")] as const,
    request: {
      params: z.object({ id: z.uuid().toLowerCase() }),
      query: z
        .object({ expires_in: queryInteger(60, MAX_LINK_SECONDS).default(DEFAULT_LINK_SECONDS) })
        .strict()
        .openapi({ description: "Link lifetime in seconds (default 24 h, at most 7 days)" }),
    },
    responses: { 200: json(ExportSchema, "The export"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => c.json(await describeExport(c, await visibleExport(c, c.req.valid("param").id), c.req.valid("query").expires_in), 200),
);

bulk.openapi(
  createRoute({
    method: "get",
    path: "/exports/{id}/download",
    operationId: "downloadExport",
    security: [],
    tags,
    summary: "Download a finished export with its signed link (no Authorization header needed)",
    request: {
      params: LinkParams,
      query: LinkQuery,
    },
    responses: {
      200: { description: "The export file", content: { "application/x-ndjson": { schema: z.string() }, "text/csv": { schema: z.string() } } },
      ...errorResponses(403, 404, 410, 422),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await assertLinkValid(c.env.SECRET_KEY, id, c.req.valid("query"));
    const job = await findExport(c.get("db"), id);
    if (job?.status === "complete" && pastItsLife(job, Date.now())) {
      throw new AppError(410, "export_expired", "This export's file was kept for its life and is deleted; start a new export");
    }
    const object = job?.status === "complete" ? await c.env.ARCHIVE.get(job.r2Key) : null;
    if (!job || !object) throw notFound("Export");
    return c.body(object.body, 200, {
      "Content-Type": object.httpMetadata?.contentType ?? "application/octet-stream",
      "Content-Length": String(object.size),
      "Content-Disposition": `attachment; filename="chainproof-export-${id}.${job.format}"`,
      "X-Content-SHA256": job.sha256 ?? "",
    });
  },
);

export default bulk;
