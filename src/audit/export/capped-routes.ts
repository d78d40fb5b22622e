import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireRole } from "../../auth/caller";
import { type AppEnv } from "../../http/context";
import { readScope } from "../../auth/tenancy";
import { IJSON_VIOLATION, ijsonViolations } from "../../crypto/jcs";
import { authenticated, errorResponses, jsonBody, newRouter } from "../../http/openapi";
import { spendBudget } from "../../http/rate-limits";
import { limitBody } from "../../http/request-guards";
import { isoNow } from "../../time";
import { commitAudited } from "../chain/append";
import { csvHeader, csvRows } from "./format";
import { ExportFilters, exportFilters, recordedFilters } from "./filters";
import { assertRangeInOrder } from "../../http/query";
import { logConditions } from "../read/filters";
import { recordFromRow } from "../chain/stored-row";
import { AuditRecordSchema } from "../chain/record-schema";
import { countRecords, matchesByOrganization, newestFirstPage, rowsWithinBudget } from "../read/store";
import type { NewestFirstCursor } from "../read/order";

export const EXPORT_LIMIT = 10_000;
const PAGE_ROWS = 1_000;
const FIRST_PAGE_ROWS = 100;
const PAGE_BYTES = 4 * 1024 * 1024;

const KNOWN_FIELDS = ["start_date", "end_date", "actions", "resource_types", "format"];

// Unknown body fields are ignored, as the established API does, and reported in X-Ignored-Fields;
// a name with a lone surrogate cannot be reported (nor percent-encoded), so it is refused.
export const CappedExportBody = ExportFilters.extend({ format: z.enum(["json", "csv"]).default("json") })
  .loose()
  .superRefine((body, ctx) => {
    for (const name of Object.keys(body)) {
      if (ijsonViolations(name).length > 0) ctx.addIssue({ code: "custom", message: IJSON_VIOLATION, path: [name] });
    }
  })
  .openapi("ExportRequest");

const CappedExportAnswer = z
  .object({
    truncated: z.boolean(),
    total: z.number().int().openapi({ description: "How many records matched" }),
    limit: z.literal(EXPORT_LIMIT),
    returned: z.number().int(),
    items: z.array(AuditRecordSchema).openapi({ description: "Newest first" }),
  })
  .openapi("CappedExport");

const exports = newRouter();

exports.openapi(
  createRoute({
    method: "post",
    path: "/export",
    operationId: "exportAuditLogs",
    tags: ["Export"],
    security: authenticated,
    summary: "Export up to 10,000 records, newest first, as JSON or CSV (streamed)",
    middleware: [requireRole("org_admin", "super_admin"), limitBody(16 * 1024)] as const,
    request: { query: z.object({ organization_id: z.uuid().toLowerCase().optional() }).strict(), body: jsonBody(CappedExportBody) },
    responses: {
      200: {
        description: "The newest records that match, as JSON or CSV (`format`), streamed; an attachment either way",
        content: { "application/json": { schema: CappedExportAnswer }, "text/csv": { schema: z.string().openapi({ description: "A header row, then a row per record (RFC 4180)" }) } },
        headers: z.object({
          "X-Result-Truncated": z.enum(["true", "false"]).openapi({ description: "Whether more records matched than the limit" }),
          "X-Result-Total": z.string().openapi({ description: "How many records matched, in decimal" }),
          "X-Result-Limit": z.string().openapi({ description: `The limit, ${EXPORT_LIMIT}` }),
          "X-Ignored-Fields": z.string().optional().openapi({ description: "The body's unknown fields, each percent-encoded, comma-separated; absent when there were none" }),
          "Content-Disposition": z.string().openapi({ description: "attachment, with a file name" }),
        }),
      },
      ...errorResponses(401, 403, 404, 413, 415, 422, 429),
    },
  }),
  async (c) => cappedExport(c, c.req.valid("json"), c.req.valid("query").organization_id),
);

/** Streams the export and audits it (once per organization it covers); the dashboard's export button answers the same. */
export async function cappedExport(c: Context<AppEnv>, body: z.infer<typeof CappedExportBody>, namedOrg: string | undefined) {
  assertRangeInOrder(body.start_date, body.end_date);
  const ignored = Object.keys(body).filter((k) => !KNOWN_FIELDS.includes(k));
  const orgId = await readScope(c, namedOrg);
  await spendBudget(c.env, "EXPORT_BUDGET", orgId);
  const filters = exportFilters(body, orgId, isoNow());
  const where = logConditions(filters);
  const db = c.get("db");
  const total = await countRecords(db, logConditions(filters, "search-list"));
  const returned = Math.min(total, EXPORT_LIMIT);
  // A platform-wide export is audited in every organization it covers, each with its own figures:
  // one tenant's chain must not tell it how many rows the others hold.
  const audited = orgId
    ? [{ organizationId: orgId, total, returned, platformWide: false }]
    : (await matchesByOrganization(db, where, EXPORT_LIMIT)).map((m) => ({ ...m, platformWide: true }));
  for (const org of audited) {
    await commitAudited(c, org.organizationId, {
      action: "export",
      resourceType: "audit_log",
      resourceId: null,
      metadata: {
        format: body.format,
        filters: recordedFilters(body),
        total: org.total,
        returned: org.returned,
        capped: true,
        ...(org.platformWide ? { platform_wide: true } : {}),
      },
    });
  }

  const headers: Record<string, string> = {
    "X-Result-Truncated": String(total > EXPORT_LIMIT),
    "X-Result-Total": String(total),
    "X-Result-Limit": String(EXPORT_LIMIT),
  };
  // Field names are client text: percent-encoded, they are always a valid header value.
  if (ignored.length > 0) headers["X-Ignored-Fields"] = ignored.map((name) => encodeURIComponent(name)).join(", ");
  const pages = pagesOf(c, where, returned);
  // Both formats are files to keep: the dashboard's export form downloads them instead of showing them.
  const attachment = (extension: string) => `attachment; filename="chainproof-audit-${isoNow().slice(0, 10)}.${extension}"`;
  if (body.format === "csv") {
    return c.body(textStream([csvHeader()], pages, (rows) => csvRows(rows), []), 200, {
      ...headers,
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": attachment("csv"),
    });
  }
  const head = `{"truncated":${total > EXPORT_LIMIT},"total":${total},"limit":${EXPORT_LIMIT},"returned":${returned},"items":[`;
  let first = true;
  const jsonRows = (rows: Parameters<typeof csvRows>[0]) =>
    rows.map((row) => `${first ? ((first = false), "") : ","}${JSON.stringify(recordFromRow(row))}`).join("");
  return c.body(textStream([head], pages, jsonRows, ["]}"]), 200, { ...headers, "Content-Type": "application/json", "Content-Disposition": attachment("json") });
}

/** The newest `limit` rows, one D1 page at a time (keyset, so each page is an index seek). */
async function* pagesOf(c: Context<AppEnv>, where: Parameters<typeof newestFirstPage>[1], limit: number) {
  let left = limit;
  let after: NewestFirstCursor | null = null;
  let previous: Awaited<ReturnType<typeof newestFirstPage>> | null = null;
  while (left > 0) {
    const size = rowsWithinBudget(previous, PAGE_BYTES, PAGE_ROWS, FIRST_PAGE_ROWS);
    const rows = await newestFirstPage(c.get("db"), where, after, Math.min(size, left));
    previous = rows;
    if (rows.length === 0) return;
    yield rows;
    left -= rows.length;
    const last = rows.at(-1)!;
    after = { timestamp: last.timestamp, seq: last.seq, id: last.id };
  }
}

/** Streams head, then each page as it is read (memory holds one page), then tail. */
function textStream<T>(head: string[], pages: AsyncGenerator<T>, render: (page: T) => string, tail: string[]) {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const text of head) controller.enqueue(encoder.encode(text));
    },
    async pull(controller) {
      const next = await pages.next();
      if (next.done) {
        for (const text of tail) controller.enqueue(encoder.encode(text));
        controller.close();
      } else {
        controller.enqueue(encoder.encode(render(next.value)));
      }
    },
  });
}

export default exports;
