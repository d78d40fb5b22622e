import { createRoute, z } from "@hono/zod-openapi";
import { queryInteger } from "../../http/query";
import { requireRole } from "../../auth/caller";
import { scopeOrganization } from "../../auth/tenancy";
import { notFound } from "../../http/errors";
import { authenticated, errorResponses, json, newRouter } from "../../http/openapi";
import { VALIDATION_KINDS } from "../../db/schema";
import { findValidationRun, listValidationRuns } from "../../ops/validation-store";
import { DEFAULT_LINK_SECONDS, LinkParams, LinkQuery, linkedDownloadId, signedDownloadPath } from "../export/download-links";
import { OrganizationValidationSchema } from "./schemas";

/** Scheduled validation runs (README.md, "Every row accounted for") and their evidence documents in R2. */
const runs = newRouter();
const tags = ["Chain integrity"];
const BASE_PATH = "/api/v1/audit/validation-runs";

const ValidationRunSchema = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    kind: z.enum(VALIDATION_KINDS),
    started_at: z.string(),
    finished_at: z.string(),
    result: OrganizationValidationSchema,
    evidence_url: z.string().openapi({ description: "The run's JSON evidence document: signed, expires in 24 h, works without credentials" }),
    evidence_sha256: z.string().nullable().openapi({
      description: "SHA-256 (hex) of the evidence document's bytes as stored; null only for runs stored before the digest was kept",
    }),
  })
  .openapi("ValidationRun");

runs.openapi(
  createRoute({
    method: "get",
    path: "/validation-runs",
    operationId: "listValidationRuns",
    tags,
    security: authenticated,
    summary: "The scheduled validation runs, newest first (super_admin)",
    middleware: [requireRole("super_admin")] as const,
    request: {
      query: z.object({ organization_id: z.uuid().toLowerCase().optional(), limit: queryInteger(1, 100).default(20) }).strict(),
    },
    responses: {
      200: json(z.object({ items: z.array(ValidationRunSchema) }).openapi("ValidationRunList"), "The runs"),
      ...errorResponses(401, 403, 404, 422),
    },
  }),
  async (c) => {
    const { organization_id: named, limit } = c.req.valid("query");
    if (named) await scopeOrganization(c, named, ["super_admin"]);
    const expires = Math.floor(Date.now() / 1000) + DEFAULT_LINK_SECONDS;
    const rows = await listValidationRuns(c.get("db"), named, limit);
    const items = await Promise.all(
      rows.map(async (run) => ({
        id: run.id,
        organization_id: run.organizationId,
        kind: run.kind,
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        result: OrganizationValidationSchema.parse(run.result),
        evidence_url: new URL(await signedDownloadPath(c.env.SECRET_KEY, BASE_PATH, run.id, expires), c.req.url).toString(),
        evidence_sha256: run.evidenceSha256,
      })),
    );
    return c.json({ items }, 200);
  },
);

// Registered for the document only: the evidence is served as the exact bytes stored in R2.
runs.openAPIRegistry.registerPath(
  createRoute({
    method: "get",
    path: "/validation-runs/{id}/download",
    operationId: "downloadValidationEvidence",
    security: [],
    tags,
    summary: "Download a run's evidence document with its signed link (no Authorization header needed)",
    request: { params: LinkParams, query: LinkQuery },
    responses: {
      200: {
        description: "The evidence JSON: run_id, organization_id, kind, started_at, finished_at, checked {from_seq, to_seq, rows}, result, head_checkpoint",
        content: { "application/json": { schema: z.object({}).loose() } },
      },
      ...errorResponses(403, 404, 422),
    },
  }),
);

runs.get("/validation-runs/:id/download", async (c) => {
  const id = await linkedDownloadId(c);
  const run = await findValidationRun(c.get("db"), id);
  const object = run ? await c.env.ARCHIVE.get(run.evidenceKey) : null;
  if (!run || !object) throw notFound("Validation run");
  return c.body(object.body, 200, {
    "Content-Type": "application/json",
    "Content-Length": String(object.size),
    "Content-Disposition": `attachment; filename="chainproof-validation-${id}.json"`,
  });
});

export default runs;
