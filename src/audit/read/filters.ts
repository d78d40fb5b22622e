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
    organization_id: z.uuid().toLowerCase().optional().openapi({ description: "super_admin only: narrow to one organization" }),
    start_date: startDate.optional(),
    end_date: endDate.optional(),
    action: repeatable(AUDIT_ACTIONS).optional(),
    resource_type: repeatable(RESOURCE_TYPES).optional(),
    resource_id: resourceId.optional(),
    actor_id: z.uuid().toLowerCase().optional(),
    status: z.enum(["success", "failure"]).optional(),
    search: z.string().min(1).max(MAX_SEARCH).optional().openapi({ description: "Free text over metadata (SQL wildcards match literally)" }),
    site_id: z.uuid().toLowerCase().optional(),
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

/**
 * How a read reaches its rows. `index`: through an organization index in time order, stopping when
 * a page is full. `search-list`: where the search index lists the candidates (see readsSearchList),
 * those rows and nothing else, each by its rowid: every other condition is written `+column`, which
 * no index serves. A count reads every match, so it takes the list. A page takes the list when it
 * is short (pageOfRecords), the index otherwise: at 1M rows, reading 1% of an organization's rows
 * by rowid and sorting them measured slower in workerd's D1 than reading its index newest first
 * until the page is full, and a list of a few rows far faster (docs/architecture.md).
 */
export type ReadPath = "index" | "search-list";

/** Whether the search index can list a read's candidates: search of three characters or more, and no resource or actor (whose index is narrower still). */
function readsSearchList(f: LogFilters) {
  return f.search !== undefined && usesSearchIndex(asStoredJson(f.search)) && f.resourceId === undefined && f.actorId === undefined;
}

export function logConditions(f: LogFilters, path: ReadPath = "index"): SQL | undefined {
  // Without statistics SQLite cannot tell that one resource or one actor is far narrower than a
  // date range, an action, a status, a site or a resource type, and may pick the broad filter's
  // index. With a narrow filter the broad ones are written `+column`: no index serves them, they
  // only filter the narrow index's rows (test/query-plans.integration.test.ts).
  const narrow = f.resourceId !== undefined || f.actorId !== undefined;
  const bySearchList = path === "search-list" && readsSearchList(f);
  const broad = (column: SQLiteColumn): SQLWrapper => (narrow || bySearchList ? sql`+${column}` : column);
  const scoped = (column: SQLiteColumn): SQLWrapper => (bySearchList ? sql`+${column}` : column);
  const timestamp = broad(auditLogs.timestamp);
  return and(
    f.organizationId ? eq(scoped(auditLogs.organizationId), f.organizationId) : undefined,
    f.startDate ? gte(timestamp, f.startDate) : undefined,
    f.endDate ? lte(timestamp, f.endDate) : undefined,
    f.actions?.length ? inArray(broad(auditLogs.action), distinct(f.actions)) : undefined,
    // With a resource id the type is part of the narrow index (organization, type, id).
    f.resourceTypes?.length ? inArray(f.resourceId ? auditLogs.resourceType : broad(auditLogs.resourceType), distinct(f.resourceTypes)) : undefined,
    f.resourceId ? eq(auditLogs.resourceId, f.resourceId) : undefined,
    f.actorId ? eq(auditLogs.actorId, f.actorId) : undefined,
    f.status ? eq(broad(auditLogs.status), f.status) : undefined,
    f.siteId ? eq(broad(auditLogs.siteId), f.siteId) : undefined,
    f.search ? metadataContains(f.search, f.organizationId) : undefined,
    // Strictly before: the export's own audit record may be stamped in the same millisecond.
    f.recordedUntil ? lt(scoped(auditLogs.recordedAt), f.recordedUntil) : undefined,
    f.after ? olderThan(f.after, timestamp) : undefined,
  );
}

/**
 * The search text as metadata's stored JSON writes it inside a string: `"`, `\\` and control
 * characters escaped as JCS (and JSON.stringify) escape them. So a value is found by its own text
 * (`C:\\temp`, `say "hi"`), and JSON's own punctuation (`":"`) matches no structure, only text.
 */
const asStoredJson = (text: string) => JSON.stringify(text).slice(1, -1);

/** The trigram index holds sequences of three characters: shorter text matches nothing in it. */
function usesSearchIndex(text: string) {
  return [...text].length >= 3;
}

// audit_search's key: the organization's rowid in the high bits, the row's rowid in the low 40
// (migrations/0015_search_by_org.sql).
const ROW_BITS = 40;
const ROW_MASK = 2 ** ROW_BITS - 1;

/**
 * The rowids of the rows whose metadata the trigram index matches `phrase` for, of one organization
 * when it is given: its entries are one range of keys, read alone, so a search costs what that
 * organization's matches cost whatever the others hold.
 */
function searchCandidates(phrase: string, organizationId: string | undefined): SQL {
  const listed = sql`SELECT rowid & ${sql.raw(String(ROW_MASK))} FROM audit_search WHERE audit_search MATCH ${phrase}`;
  if (!organizationId) return listed;
  const first = sql`(coalesce((SELECT rowid FROM organizations WHERE id = ${organizationId}), 0) << ${sql.raw(String(ROW_BITS))})`;
  return sql`${listed} AND rowid >= ${first} AND rowid <= ${first} + ${sql.raw(String(ROW_MASK))}`;
}

/**
 * Metadata contains `text` (ASCII case folded, every character literal). From three characters on,
 * the trigram index audit_search names the candidate rows (searchCandidates): its phrase match is a
 * superset of the containment (it folds case beyond ASCII), so the exact test still decides. A page
 * on the `index` path reads the organization's index in time order and keeps the rows the list names
 * (an index entry holds the rowid: no row is read for the others) until the page is full; on the
 * `search-list` path the listed rows are read (logConditions). Shorter text has no trigram and is
 * tested row by row.
 */
function metadataContains(search: string, organizationId: string | undefined): SQL {
  const text = asStoredJson(search);
  const exact = and(containsText(auditLogs.metadata, text), decodedAgrees(search))!;
  if (!usesSearchIndex(text)) return exact;
  return and(sql`${auditLogs}.rowid IN (${searchCandidates(phraseOf(text), organizationId)})`, exact)!;
}

// Outside strings, JCS writes only these (and literals): text holding one can match across members.
const JSON_PUNCTUATION = /[:,{}[\]]/;

/**
 * Where the stored text alone could be wrong, the decoded keys and scalar values decide: a match can
 * begin inside an escape when the metadata holds a backslash (`\\"` holds `\"`, `\nthe` holds
 * `nthe`), and text with JSON punctuation can span two members (`1,2` in `[1,2]`). Other rows (no
 * backslash, the common case) are decided by the stored text, read by SQLite without parsing.
 */
function decodedAgrees(search: string): SQL {
  const decoded = sql`EXISTS (
    SELECT 1 FROM json_tree(${auditLogs.metadata}) AS node
    WHERE (node.type IN ('text', 'integer', 'real') AND ${containsText(sql`node.atom`, search)})
       OR (node.type IN ('true', 'false', 'null') AND ${containsText(sql`node.type`, search)})
       OR (typeof(node.key) = 'text' AND ${containsText(sql`node.key`, search)}))`;
  return JSON_PUNCTUATION.test(search) ? decoded : sql`(instr(${auditLogs.metadata}, '\\') = 0 OR ${decoded})`;
}

/** An FTS5 phrase: the text in double quotes, its own double quotes doubled. */
const phraseOf = (text: string) => `"${text.replaceAll('"', '""')}"`;

/**
 * Whether the search index lists at most `n` candidates for these filters (an SQL condition SQLite
 * evaluates once, reading at most n + 1 entries), or undefined where no list applies.
 */
export function searchListAtMost(f: LogFilters, n: number): SQL | undefined {
  if (!readsSearchList(f)) return undefined;
  return sql`(SELECT count(*) FROM (${searchCandidates(phraseOf(asStoredJson(f.search!)), f.organizationId)} LIMIT ${n + 1})) <= ${n}`;
}
