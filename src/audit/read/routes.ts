import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireRole } from "../../auth/caller";
import { type AppEnv } from "../../http/context";
import { readScope, withinTenancy } from "../../auth/tenancy";
import { findOrgUser, userOwner } from "../../orgs/store";
import { forbidden, invalid, notFound } from "../../http/errors";
import { authenticated, errorResponses, json, newRouter } from "../../http/openapi";
import { spendBudget } from "../../http/rate-limits";
import { isoNow } from "../../time";
import { RESOURCE_TYPES } from "../chain/enums";
import { endDate, pageDepth, pagingParams, startDate, assertRangeInOrder } from "../../http/query";
import { type LogFilters, LogQuery, logConditions, searchListAtMost } from "./filters";
import { recordFromRow, type StoredRow } from "../chain/stored-row";
import { activityCounts, anyRecord, pageOfRecords, recordById, SHORT_SEARCH_LIST, TOTAL_CAP } from "./store";
import type { NewestFirstCursor } from "./order";
import { CursorParam, encodeCursor } from "./cursor";
import { AuditRecordSchema } from "../chain/record-schema";
import { resourceId } from "../chain/input";

const reads = newRouter();
const tags = ["Audit log"];
const ADMINS = ["org_admin", "super_admin"] as const;
const DAY_MS = 24 * 60 * 60 * 1000;

const PageSchema = z
  .object({
    items: z.array(AuditRecordSchema),
    total: z.number().int().openapi({ description: `Matching records, counted up to ${TOTAL_CAP}: beyond that it stays ${TOTAL_CAP} and total_exact is false` }),
    total_exact: z.boolean().openapi({ description: `false when more than ${TOTAL_CAP} records match (total is then a lower bound)` }),
    page: z.number().int().nullable().openapi({ description: "null when the page was asked for by cursor" }),
    per_page: z.number().int(),
    pages: z.number().int().openapi({ description: `Pages that page= reaches (at most ${TOTAL_CAP} records deep); follow next_cursor past them` }),
    next_cursor: z.string().nullable().openapi({ description: "Pass as cursor for the records after this page; null on the last page" }),
  })
  .openapi("AuditLogPage");

const PagingQuery = z
  .object({ ...pagingParams, cursor: CursorParam.optional(), organization_id: z.uuid().toLowerCase().optional() })
  .strict()
  .refine(...pageDepth);

/**
 * A page of records in the API's shape; the dashboard renders the same pages. With a cursor the
 * page starts after it (and `page` must not be named); otherwise `page` counts from the newest.
 */
export async function paged(c: Context<AppEnv>, filters: LogFilters, page: number, perPage: number, cursor?: NewestFirstCursor) {
  if (cursor && c.req.query("page") !== undefined) throw invalid([{ field: "cursor", message: "use either cursor or page, not both" }]);
  const positioned = { ...filters, after: cursor };
  const isShort = searchListAtMost(filters, SHORT_SEARCH_LIST);
  const reads = {
    page: logConditions(positioned),
    counted: logConditions(filters, "search-list"),
    searchList: isShort ? { page: logConditions(positioned, "search-list"), isShort } : undefined,
  };
  const { rows, more, total, totalExact } = await pageOfRecords(c.get("db"), reads, cursor ? 0 : (page - 1) * perPage, perPage);
  const pages = Math.ceil(total / perPage);
  if (!cursor && page > Math.max(pages, 1)) throw invalid([{ field: "page", message: `beyond the last page (${Math.max(pages, 1)})` }]);
  const last = rows.at(-1);
  return {
    items: rows.map(recordFromRow),
    total,
    total_exact: totalExact,
    page: cursor ? null : page,
    per_page: perPage,
    pages,
    next_cursor: more && last ? encodeCursor(last) : null,
  };
}

reads.openapi(
  createRoute({
    method: "get",
    path: "/logs",
    operationId: "listAuditLogs",
    tags,
    security: authenticated,
    summary: "Query the audit log, newest first",
    middleware: [requireRole(...ADMINS)] as const,
    request: { query: LogQuery },
    responses: { 200: json(PageSchema, "A page of records"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const filters = {
      organizationId: await readScope(c, q.organization_id),
      startDate: q.start_date,
      endDate: q.end_date,
      actions: q.action,
      resourceTypes: q.resource_type,
      resourceId: q.resource_id,
      actorId: q.actor_id,
      status: q.status,
      search: q.search,
      siteId: q.site_id,
    };
    return c.json(await paged(c, filters, q.page, q.per_page, q.cursor), 200);
  },
);

/**
 * A member reads only records it acted in; a record of another tenant does not exist for the
 * caller (and asking for one is recorded as a cross-tenant attempt).
 */
export async function visibleRecord(c: Context<AppEnv>, row: StoredRow | undefined) {
  const caller = c.get("caller");
  if (!row || !(await withinTenancy(c, row.organizationId))) throw notFound("Audit record");
  if (caller.role === "member" && row.actorId !== caller.actorId) throw forbidden("Members may read only their own history");
  return row;
}

reads.openapi(
  createRoute({
    method: "get",
    path: "/logs/{id}",
    operationId: "getAuditLog",
    tags,
    security: authenticated,
    summary: "One record",
    middleware: [requireRole("member", ...ADMINS)] as const,
    request: { params: z.object({ id: z.uuid().toLowerCase() }) },
    responses: { 200: json(AuditRecordSchema, "The record"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const row = await visibleRecord(c, await recordById(c.get("db"), c.req.valid("param").id));
    return c.json(recordFromRow(row), 200);
  },
);

reads.openapi(
  createRoute({
    method: "get",
    path: "/logs/resource/{resource_type}/{resource_id}",
    operationId: "listResourceAuditLogs",
    tags,
    security: authenticated,
    summary: "Every record about one resource; 404 if the caller's organization has none",
    middleware: [requireRole(...ADMINS)] as const,
    request: {
      params: z.object({ resource_type: z.enum(RESOURCE_TYPES), resource_id: resourceId }),
      query: PagingQuery,
    },
    responses: { 200: json(PageSchema, "A page of records"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const { resource_type, resource_id } = c.req.valid("param");
    const q = c.req.valid("query");
    const filters = { organizationId: await readScope(c, q.organization_id), resourceTypes: [resource_type], resourceId: resource_id };
    if (!(await anyRecord(c.get("db"), logConditions(filters)))) throw notFound("Resource");
    return c.json(await paged(c, filters, q.page, q.per_page, q.cursor), 200);
  },
);

reads.openapi(
  createRoute({
    method: "get",
    path: "/logs/user/{user_id}",
    operationId: "listUserAuditLogs",
    tags,
    security: authenticated,
    summary: "The history of one actor; a member may read only its own",
    middleware: [requireRole("member", ...ADMINS)] as const,
    request: { params: z.object({ user_id: z.uuid().toLowerCase() }), query: PagingQuery },
    responses: { 200: json(PageSchema, "A page of records"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const caller = c.get("caller");
    const userId = c.req.valid("param").user_id;
    const q = c.req.valid("query");
    const orgId = caller.role === "member" ? caller.organizationId! : await readScope(c, q.organization_id);
    const filters = { organizationId: orgId, actorId: userId };
    const where = logConditions(filters);
    const own = caller.role === "member" && userId === caller.actorId;
    // An actor of the organization is a chainproof user of it or someone its records name; for a
    // super_admin reading platform-wide, a chainproof user of any organization.
    const db = c.get("db");
    const user = orgId === undefined ? (await userOwner(db, userId)) !== undefined : own || (await findOrgUser(db, orgId, userId));
    const exists = user || (await anyRecord(db, where));
    if (!exists) {
      // A chainproof user of another tenant is recorded as a cross-tenant attempt, and answered like an unknown actor.
      const owner = await userOwner(db, userId);
      if (owner) await withinTenancy(c, owner);
      throw notFound("User");
    }
    if (caller.role === "member" && userId !== caller.actorId) throw forbidden("Members may read only their own history");
    return c.json(await paged(c, filters, q.page, q.per_page, q.cursor), 200);
  },
);

const ActivitySchema = z
  .object({
    start_date: z.string(),
    end_date: z.string(),
    total: z.number().int(),
    by_action: z.record(z.string(), z.number().int()),
    by_resource_type: z.record(z.string(), z.number().int()),
    by_status: z.record(z.string(), z.number().int()),
    top_actors: z.array(z.object({ actor_id: z.string(), count: z.number().int() })),
    per_day: z.array(z.object({ date: z.string(), count: z.number().int() })),
  })
  .openapi("ActivitySummary");

reads.openapi(
  createRoute({
    method: "get",
    path: "/summary/activity",
    operationId: "getActivitySummary",
    tags,
    security: authenticated,
    summary: "Counts by action, resource type and status, top actors and a per-day histogram (default: last 30 days)",
    middleware: [requireRole(...ADMINS)] as const,
    request: {
      query: z.object({ start_date: startDate.optional(), end_date: endDate.optional(), organization_id: z.uuid().toLowerCase().optional() }).strict(),
    },
    responses: { 200: json(ActivitySchema, "The summary"), ...errorResponses(401, 403, 404, 422, 429) },
  }),
  async (c) => c.json(await activitySummary(c, c.req.valid("query")), 200),
);

/** The activity summary of one organization (or, for a super_admin naming none, every one); default: the last 30 days. */
export async function activitySummary(c: Context<AppEnv>, q: { start_date?: string; end_date?: string; organization_id?: string }) {
  const end = q.end_date ?? isoNow();
  const start = q.start_date ?? isoNow(Date.parse(end) - 30 * DAY_MS);
  assertRangeInOrder(start, end);
  const organizationId = await readScope(c, q.organization_id);
  await spendBudget(c.env, "SUMMARY_BUDGET", organizationId);
  const where = logConditions({ organizationId, startDate: start, endDate: end });
  const counts = await activityCounts(c.get("db"), where);
  const tally = (rows: { key: string | null; n: number }[]) => Object.fromEntries(rows.map((r) => [r.key ?? "", r.n]));
  return {
    start_date: start,
    end_date: end,
    total: counts.total,
    by_action: tally(counts.byAction),
    by_resource_type: tally(counts.byResourceType),
    by_status: tally(counts.byStatus),
    top_actors: counts.topActors.map((r) => ({ actor_id: r.key, count: r.n })),
    per_day: counts.perDay.map((r) => ({ date: r.key, count: r.n })),
  };
}

export default reads;
