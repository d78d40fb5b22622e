import { z } from "@hono/zod-openapi";
import { and, eq, gte, inArray, lt, lte, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { containsText } from "../../db/contains";
import { auditLogs } from "../../db/schema";
import { endDate, MAX_SEARCH, pageDepth, pagingParams, startDate } from "../../http/query";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "../chain/enums";
import { resourceId } from "../chain/input";
import { CursorParam } from "./cursor";
import { type NewestFirstCursor, olderThan } from "./order";

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
    cursor: CursorParam.optional(),
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
  /** Keyset paging: only rows after this position in newest-first order. */
  after?: NewestFirstCursor;
};

// A value repeated in a list filter is bound once: D1 takes at most 100 parameters a statement,
// and the enums are short enough that distinct lists always fit.
const distinct = (values: string[]) => [...new Set(values)];

export function logConditions(f: LogFilters): SQL | undefined {
  // Without statistics SQLite cannot tell that one resource or one actor is far narrower than a
  // date range, an action, a status, a site or a resource type, and may pick the broad filter's
  // index. With a narrow filter the broad ones are written `+column`: no index serves them, they
  // only filter the narrow index's rows (test/query-plans.integration.test.ts).
  const narrow = f.resourceId !== undefined || f.actorId !== undefined;
  const broad = (column: SQLiteColumn): SQLWrapper => (narrow ? sql`+${column}` : column);
  const timestamp = broad(auditLogs.timestamp);
  return and(
    f.organizationId ? eq(auditLogs.organizationId, f.organizationId) : undefined,
    f.startDate ? gte(timestamp, f.startDate) : undefined,
    f.endDate ? lte(timestamp, f.endDate) : undefined,
    f.actions?.length ? inArray(broad(auditLogs.action), distinct(f.actions)) : undefined,
    // With a resource id the type is part of the narrow index (organization, type, id).
    f.resourceTypes?.length ? inArray(f.resourceId ? auditLogs.resourceType : broad(auditLogs.resourceType), distinct(f.resourceTypes)) : undefined,
    f.resourceId ? eq(auditLogs.resourceId, f.resourceId) : undefined,
    f.actorId ? eq(auditLogs.actorId, f.actorId) : undefined,
    f.status ? eq(broad(auditLogs.status), f.status) : undefined,
    f.siteId ? eq(broad(auditLogs.siteId), f.siteId) : undefined,
    f.search ? metadataContains(f.search) : undefined,
    // Strictly before: the export's own audit record may be stamped in the same millisecond.
    f.recordedUntil ? lt(auditLogs.recordedAt, f.recordedUntil) : undefined,
    f.after ? olderThan(f.after, timestamp) : undefined,
  );
}

/** The trigram index holds sequences of three characters: shorter text matches nothing in it. */
const usesSearchIndex = (text: string) => [...text].length >= 3;

/**
 * Metadata contains `text` (ASCII case folded, every character literal). From three characters on,
 * the trigram index audit_search (migrations/0011_search_index.sql) names the candidate rows: its
 * phrase match is a superset of the containment (it folds case beyond ASCII), so the exact test
 * still decides. SQLite reads the organization's index in time order and keeps the rows the list
 * names (an index entry holds the rowid: no row is read for the others), which measured faster at
 * 1M rows than fetching every candidate of every organization by rowid. Shorter text has no
 * trigram and is tested row by row.
 */
function metadataContains(text: string): SQL {
  const exact = containsText(auditLogs.metadata, text);
  if (!usesSearchIndex(text)) return exact;
  const phrase = `"${text.replaceAll('"', '""')}"`;
  return and(sql`${auditLogs}.rowid IN (SELECT rowid FROM audit_search WHERE audit_search MATCH ${phrase})`, exact)!;
}

