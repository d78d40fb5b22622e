import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type LogFilters, logConditions, searchListAtMost } from "../src/audit/read/filters";
import { and } from "drizzle-orm";
import { cappedCount, recordsPage, SHORT_SEARCH_LIST, TOTAL_CAP } from "../src/audit/read/store";
import { olderThan } from "../src/audit/read/order";
import { db } from "./helpers";

// SQLite's plan for every documented filter combination of GET /api/v1/audit/logs, in workerd's D1
// with the migrations' schema. No rows are needed: without ANALYZE the plan depends on the schema
// alone, as it does in a fresh deployment.

const ORG = crypto.randomUUID();
const filters: Record<string, Partial<LogFilters>> = {
  dates: { startDate: "2026-01-01T00:00:00.000Z", endDate: "2026-02-01T00:00:00.000Z" },
  action: { actions: ["update"] },
  resource_type: { resourceTypes: ["device"] },
  resource_id: { resourceId: crypto.randomUUID() },
  actor_id: { actorId: crypto.randomUUID() },
  status: { status: "failure" },
  site_id: { siteId: crypto.randomUUID() },
  search: { search: "kumquat" },
};
const names = Object.keys(filters);
/** Every subset of the filters, as the names it holds. */
const combinations = Array.from({ length: 2 ** names.length }, (_, bits) => names.filter((_, i) => bits & (1 << i)));
const cursor = { timestamp: "2026-01-15T00:00:00.000Z", seq: 42, id: crypto.randomUUID() };

async function plan(query: { toSQL(): { sql: string; params: unknown[] } }) {
  const { sql, params } = query.toSQL();
  const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((r) => r.detail);
}

// One resource or one actor is a sliver of an organization; a site, a status, an action or a resource type can be most of it.
const ID_FILTERS = { resource_id: "resource_id=?", actor_id: "actor_id=?" } as Record<string, string>;

/**
 * What is wrong with how a plan reads audit_logs, if anything. `narrowing`: some filter must narrow
 * the index range, not the whole organization; `ids`: a resource, actor or site among the filters
 * (far narrower than anything else) must be one the index range is on.
 */
function problems(details: string[], narrowing: boolean, ids: string[] = []) {
  const reads = details.filter((d) => /^(SCAN|SEARCH) audit_logs\b/.test(d));
  // The search index's list of candidates, checked against the rowid every index entry holds.
  const searchList = details.some((d) => /^SCAN audit_search VIRTUAL TABLE INDEX/.test(d));
  return reads.flatMap((d) => {
    if (d.startsWith("SCAN")) return [`scans: ${d}`];
    if (ids.length > 0 && !ids.some((id) => d.includes(ID_FILTERS[id]!))) return [`not by ${ids.join(" or ")}: ${d}`];
    if (narrowing && !searchList && !/USING (COVERING )?INDEX \w+ \(organization_id=\? AND /.test(d)) return [`reads the whole organization: ${d}`];
    return [];
  });
}

describe("every documented filter combination of GET /api/v1/audit/logs reads through an index", () => {
  it(`${combinations.length} combinations × (first page, cursor page, capped count): no scan, and a filter narrows the index range`, { timeout: 60_000 }, async () => {
    const found: string[] = [];
    for (const combination of combinations) {
      const chosen = Object.assign({ organizationId: ORG }, ...combination.map((n) => filters[n]));
      const where = logConditions(chosen);
      const statements = {
        page: recordsPage(db(), where, 0, 50),
        cursor: recordsPage(db(), logConditions({ ...chosen, after: cursor }), 0, 50),
        count: cappedCount(db(), logConditions(chosen, "search-list"), TOTAL_CAP + 1),
      };
      for (const [kind, statement] of Object.entries(statements)) {
        // One resource type alone is a large share of the rows, like the several values below.
        const narrowing = combination.some((n) => n !== "resource_type") || kind === "cursor";
        const ids = combination.filter((n) => n in ID_FILTERS);
        for (const problem of problems(await plan(statement), narrowing, ids)) found.push(`[${combination.join(", ")}] ${kind}: ${problem}`);
      }
    }
    expect(found).toEqual([]);
  });

  it("several actions or resource types at once: no scan (each value is a large share of the rows, so reading newest first finds a page soon)", async () => {
    const found: string[] = [];
    for (const combination of combinations) {
      const chosen = Object.assign({ organizationId: ORG, actions: ["update", "delete"], resourceTypes: ["device", "policy"] }, ...combination.map((n) => filters[n]));
      for (const statement of [recordsPage(db(), logConditions(chosen), 0, 50), cappedCount(db(), logConditions(chosen, "search-list"), TOTAL_CAP + 1)]) {
        for (const problem of problems(await plan(statement), false, combination.filter((n) => n in ID_FILTERS))) found.push(`[${combination.join(", ")}]: ${problem}`);
      }
    }
    expect(found).toEqual([]);
  }, 60_000);

  // The organization's index entries in time order, each kept or not by the rowid the search index
  // lists; the list holds the organization's own entries alone (a key range beside MATCH: "M1><").
  it("search of three characters or more goes through the trigram index audit_search, within the organization's keys", async () => {
    const details = await plan(recordsPage(db(), logConditions({ organizationId: ORG, search: "kum" }), 0, 50));
    expect(details).toEqual([
      "SEARCH audit_logs USING INDEX audit_logs_org_time_idx (organization_id=?)",
      "LIST SUBQUERY 3",
      "SCAN audit_search VIRTUAL TABLE INDEX 0:M1><",
      "SCALAR SUBQUERY 1",
      "SEARCH organizations USING COVERING INDEX sqlite_autoindex_organizations_1 (id=?)",
      "SCALAR SUBQUERY 2",
      "SEARCH organizations USING COVERING INDEX sqlite_autoindex_organizations_1 (id=?)",
      "REUSE SUBQUERY 1",
      "REUSE SUBQUERY 2",
      "CREATE BLOOM FILTER",
      // json_tree of one row's own metadata, only where it holds a backslash (filters.ts, decodedAgrees).
      "CORRELATED SCALAR SUBQUERY 4",
      "SCAN node VIRTUAL TABLE INDEX 1:",
      "USE TEMP B-TREE FOR LAST 2 TERMS OF ORDER BY",
    ]);
  });

  // A count reads every match, and a page of a short list sorts it: the listed rows, each by its
  // rowid, and no index entry of the organization.
  it("the search list's path reads the rows the trigram index lists and nothing else, whatever else is filtered", async () => {
    for (const combination of combinations.filter((c) => c.includes("search") && !c.some((n) => n in ID_FILTERS))) {
      const chosen = Object.assign({ organizationId: ORG }, ...combination.map((n) => filters[n]));
      const isShort = searchListAtMost(chosen, SHORT_SEARCH_LIST)!;
      const statements = [cappedCount(db(), logConditions(chosen, "search-list"), TOTAL_CAP + 1), recordsPage(db(), logConditions({ ...chosen, after: cursor }, "search-list"), 0, 50, isShort)];
      for (const statement of statements) {
        const reads = (await plan(statement)).filter((d) => /audit_logs\b/.test(d));
        expect(reads, combination.join(", ")).toEqual(["SEARCH audit_logs USING INTEGER PRIMARY KEY (rowid=?)"]);
      }
    }
    // Where the list does not apply, the path is the index's.
    const byActor = { organizationId: ORG, actorId: crypto.randomUUID(), search: "kumquat" };
    const statementOf = (path: "index" | "search-list") => cappedCount(db(), logConditions(byActor, path), TOTAL_CAP + 1).toSQL();
    expect(statementOf("search-list")).toEqual(statementOf("index"));
    expect(statementOf("search-list").sql).toMatch(/"organization_id" = \?/);
  });

  it("super_admin across organizations: newest first without filters, or by date, reads through the time index", async () => {
    for (const where of [logConditions({}), logConditions(filters.dates!), logConditions({ recordedUntil: "2026-01-01T00:00:00.000Z" })]) {
      for (const statement of [recordsPage(db(), where, 0, 50), recordsPage(db(), and(where, olderThan(cursor)), 0, 50)]) {
        const details = await plan(statement);
        expect(details.filter((d) => /audit_logs/.test(d))).toEqual([expect.stringMatching(/^SCAN audit_logs USING INDEX audit_logs_time_idx|^SEARCH audit_logs USING INDEX audit_logs_time_idx \(timestamp[<>]/)]);
      }
    }
  });
});
