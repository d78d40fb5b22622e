import { createRoute, z } from "@hono/zod-openapi";
import { queryInteger } from "../../http/query";
import { requireRole } from "../../auth/caller";
import { readScope } from "../../auth/tenancy";
import { notFound } from "../../http/errors";
import { authenticated, errorResponses, json, newRouter } from "../../http/openapi";
import { DEFAULT_LINK_SECONDS, LinkParams, LinkQuery, linkedDownloadId, signedDownloadPath } from "../export/download-links";
import { anchorOf } from "../chain/anchor";
import { CompactRangeSchema } from "../integrity/schemas";
import { anchorsOfArchives, findArchive, listArchives } from "./store";

/** Retention archives (docs/operations.md, "Retention"): the pruned rows in R2, each with the anchor that seals its end. */
const archives = newRouter();
const tags = ["Retention"];
const BASE_PATH = "/api/v1/audit/archives";

const AnchorSchema = z
  .object({
    type: z.literal("chainproof.anchor.v1"),
    organization_id: z.string(),
    pruned_through_seq: z.number().int(),
    row_hmac: z.string(),
    pruned_count: z.number().int().openapi({ description: "Rows pruned behind this anchor, earlier prunes included" }),
    archive_key: z.string(),
    archive_sha256: z.string(),
    created_at: z.string(),
    key_id: z.string(),
    anchor_hmac: z.string().openapi({ description: "hex(HMAC-SHA256(K[key_id], JCS(the other nine members))): docs/protocol.md, prune anchors" }),
  })
  .openapi("PruneAnchor");

const ArchiveSchema = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    seq_from: z.number().int(),
    seq_to: z.number().int(),
    count: z.number().int().openapi({ description: "Lines in the archive: the chained rows seq_from..seq_to and the legacy rows their import records cover" }),
    first_prev_hash: z.string().nullable(),
    last_row_hmac: z.string(),
    bytes: z.number().int(),
    sha256: z.string().openapi({ description: "SHA-256 (hex) of the gzipped archive as downloaded" }),
    created_at: z.string(),
    download_url: z.string().openapi({ description: "The gzipped JSONL archive: signed, expires in 24 h, works without credentials" }),
    anchor: AnchorSchema.nullable(),
    tree_head: z.string().nullable().openapi({
      description: "The prune checkpoint's signed tree head, of size seq_to (docs/protocol.md §8): the archive checks against it with the public JWKS key alone. null without a signing key",
    }),
    compact_range: CompactRangeSchema.nullable().openapi({
      description: "The roots of the complete subtrees of every leaf before seq_from, largest first; null when seq_from is 1 or tree_head is null",
    }),
  })
  .openapi("Archive");

archives.openapi(
  createRoute({
    method: "get",
    path: "/archives",
    operationId: "listArchives",
    tags,
    security: authenticated,
    summary: "Archives of pruned rows, newest first (org_admin: its organization; super_admin: all or the one named)",
    middleware: [requireRole("org_admin", "super_admin")] as const,
    request: {
      query: z.object({ organization_id: z.uuid().toLowerCase().optional(), limit: queryInteger(1, 100).default(20) }).strict(),
    },
    responses: {
      200: json(z.object({ items: z.array(ArchiveSchema) }).openapi("ArchiveList"), "The archives"),
      ...errorResponses(401, 403, 404, 422),
    },
  }),
  async (c) => {
    const { organization_id: named, limit } = c.req.valid("query");
    const orgId = await readScope(c, named);
    const db = c.get("db");
    const rows = await listArchives(db, orgId, limit);
    const anchors = new Map((await anchorsOfArchives(db, rows.map((r) => r.id))).map((a) => [a.archiveId, anchorOf(a)]));
    const expires = Math.floor(Date.now() / 1000) + DEFAULT_LINK_SECONDS;
    const items = await Promise.all(
      rows.map(async (a) => ({
        id: a.id,
        organization_id: a.organizationId,
        seq_from: a.seqFrom,
        seq_to: a.seqTo,
        count: a.count!,
        first_prev_hash: a.firstPrevHash,
        last_row_hmac: a.lastRowHmac!,
        bytes: a.bytes!,
        sha256: a.sha256!,
        created_at: a.createdAt,
        download_url: new URL(await signedDownloadPath(c.env.SECRET_KEY, BASE_PATH, a.id, expires), c.req.url).toString(),
        anchor: anchors.get(a.id) ?? null,
        tree_head: a.treeHead,
        compact_range: a.compactRange,
      })),
    );
    return c.json({ items }, 200);
  },
);

// Registered for the document only: the archive is served as the exact bytes stored in R2.
archives.openAPIRegistry.registerPath(
  createRoute({
    method: "get",
    path: "/archives/{id}/download",
    operationId: "downloadArchive",
    security: [],
    tags,
    summary: "Download an archive with its signed link (no Authorization header needed)",
    request: { params: LinkParams, query: LinkQuery },
    responses: {
      200: { description: "The gzipped JSONL archive, one record per line", content: { "application/gzip": { schema: z.string().openapi({ format: "binary" }) } } },
      ...errorResponses(403, 404, 422),
    },
  }),
);

archives.get("/archives/:id/download", async (c) => {
  const id = await linkedDownloadId(c);
  const archive = await findArchive(c.get("db"), id);
  const object = archive?.state === "complete" ? await c.env.ARCHIVE.get(archive.r2Key) : null;
  if (!archive || !object) throw notFound("Archive");
  return c.body(object.body, 200, {
    "Content-Type": "application/gzip",
    "Content-Length": String(object.size),
    "Content-Disposition": `attachment; filename="chainproof-archive-${archive.organizationId}-${archive.seqFrom}-${archive.seqTo}.jsonl.gz"`,
  });
});

export default archives;
