import { z } from "@hono/zod-openapi";
import { and, desc, eq, gte, inArray, lte, type SQL } from "drizzle-orm";
import { containsText } from "../db/contains";
import { auditLogs } from "../db/schema";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "./enums";
import { resourceId } from "./input";

export const MAX_PER_PAGE = 200;
export const MAX_SEARCH = 128;
/**
 * OFFSET paging makes D1 read and skip every row before the page, so page × per_page is capped:
 * one request cannot make D1 scan millions of rows. Deeper reads narrow the filters instead.
 */
export const MAX_PAGE_DEPTH = 10_000;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** ISO 8601 date or date-time; a bare date means that whole UTC day (start or end of it). */
const dateBound = (end: boolean) =>
  z
    .string()
    .refine((v) => (DATE_ONLY.test(v) || z.iso.datetime({ offset: true }).safeParse(v).success) && !Number.isNaN(Date.parse(v)), {
      message: "must be an ISO 8601 date or date-time with a time zone",
    })
    .transform((v) => (DATE_ONLY.test(v) ? `${v}T${end ? "23:59:59.999" : "00:00:00.000"}Z` : new Date(v).toISOString()));

export const startDate = dateBound(false);
export const endDate = dateBound(true);

/** `page` and `per_page` of every OFFSET-paged list; the object using them refines with `pageDepth`. */
export const pagingParams = {
  page: z.coerce.number().int().min(1).default(1).openapi({ description: `1-based; page × per_page must not exceed ${MAX_PAGE_DEPTH}` }),
  per_page: z.coerce.number().int().min(1).max(MAX_PER_PAGE).default(50),
};

export const pageDepth: [(q: { page: number; per_page: number }) => boolean, { message: string; path: string[] }] = [
  (q) => q.page * q.per_page <= MAX_PAGE_DEPTH,
  {
    message: `page × per_page must not exceed ${MAX_PAGE_DEPTH}; narrow the filters (e.g. start_date and end_date) to reach older records`,
    path: ["page"],
  },
];

/** A query parameter that may repeat (`?action=a&action=b`), always read as a list. */
const repeatable = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .union([z.enum(values), z.array(z.enum(values))], { error: `must be one of: ${values.join(", ")}` })
    .transform((v) => (Array.isArray(v) ? v : [v]));

export const LogQuery = z
  .object({
    organization_id: z.uuid().optional().openapi({ description: "super_admin only: narrow to one organization" }),
    start_date: startDate.optional(),
    end_date: endDate.optional(),
    action: repeatable(AUDIT_ACTIONS).optional(),
    resource_type: repeatable(RESOURCE_TYPES).optional(),
    resource_id: resourceId.optional(),
    actor_id: z.uuid().optional(),
    status: z.enum(["success", "failure"]).optional(),
    search: z.string().min(1).max(MAX_SEARCH).optional().openapi({ description: "Free text over metadata (SQL wildcards match literally)" }),
    site_id: z.uuid().optional(),
    ...pagingParams,
  })
  .strict()
  .refine(...pageDepth)
  .refine((q) => !q.start_date || !q.end_date || q.start_date <= q.end_date, { message: "must not be after end_date", path: ["start_date"] });

export type LogFilters = {
  organizationId?: string;
  startDate?: string;
  endDate?: string;
  actions?: string[];
  resourceTypes?: string[];
  resourceId?: string;
  actorId?: string;
  status?: string;
  search?: string;
  siteId?: string;
  /** Rows stored after this moment are left out, so a long read sees one consistent set. */
  recordedUntil?: string;
};

// A value repeated in a list filter is bound once: D1 takes at most 100 parameters a statement,
// and the enums are short enough that distinct lists always fit.
const distinct = (values: string[]) => [...new Set(values)];

export function logConditions(f: LogFilters): SQL | undefined {
  return and(
    f.organizationId ? eq(auditLogs.organizationId, f.organizationId) : undefined,
    f.startDate ? gte(auditLogs.timestamp, f.startDate) : undefined,
    f.endDate ? lte(auditLogs.timestamp, f.endDate) : undefined,
    f.actions?.length ? inArray(auditLogs.action, distinct(f.actions)) : undefined,
    f.resourceTypes?.length ? inArray(auditLogs.resourceType, distinct(f.resourceTypes)) : undefined,
    f.resourceId ? eq(auditLogs.resourceId, f.resourceId) : undefined,
    f.actorId ? eq(auditLogs.actorId, f.actorId) : undefined,
    f.status ? eq(auditLogs.status, f.status) : undefined,
    f.siteId ? eq(auditLogs.siteId, f.siteId) : undefined,
    f.search ? containsText(auditLogs.metadata, f.search) : undefined,
    f.recordedUntil ? lte(auditLogs.recordedAt, f.recordedUntil) : undefined,
  );
}

/** Newest first by the event's own time; ties by seq, then id (rows of several organizations). */
export const newestFirst = [desc(auditLogs.timestamp), desc(auditLogs.seq), desc(auditLogs.id)];
