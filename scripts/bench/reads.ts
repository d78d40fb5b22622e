// The "reading" figures: a varied dataset built through the batch endpoint, five typical queries
// fired at the Worker as each organization's org_admin, and the same SQL run straight against a
// node:sqlite copy of the very rows the Worker stored (its baseline).
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { count, type SQL, sql } from "drizzle-orm";
import { QueryBuilder } from "drizzle-orm/sqlite-core";
import { logConditions } from "../../src/audit/read/filters";
import { newestFirst } from "../../src/audit/read/order";
import { TOTAL_CAP } from "../../src/audit/read/store";
import type { AuditRecord } from "../../src/audit/chain/record";
import { auditLogs } from "../../src/db/schema";
import { appendBatch, type Org } from "./api";
import { prng, type QueryArgs, type QueryKind, type ReadDataset } from "./dataset";
import { type LatencyResult, latencySummary, measureLatency } from "./load";

export type ReadOrg = Org & { adminToken: string };

/**
 * Appends `rowsPerOrg` records to every org in batches of `batchSize`, from `loops` concurrent loops
 * that take the orgs in turn (so batches of different orgs are in flight together). Every stored
 * record the Worker answers with goes to `onRecords`, which is how the raw copy gets the same rows.
 */
export async function fillReadOrgs(o: {
  base: string;
  orgs: ReadOrg[];
  data: ReadDataset;
  rowsPerOrg: number;
  batchSize: number;
  loops: number;
  maxSeconds: number;
  onRecords: (records: AuditRecord[]) => void;
  progress: (text: string) => void;
}) {
  const batchesPerOrg = Math.ceil(o.rowsPerOrg / o.batchSize);
  const jobs = batchesPerOrg * o.orgs.length;
  const perOrg = o.orgs.map(() => 0);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let next = 0;
  let rows = 0;
  let lastReport = started;
  const loop = async () => {
    while (next < jobs && elapsed() < o.maxSeconds) {
      const org = next++ % o.orgs.length;
      // The body is drawn synchronously when the job is taken: each org's stream stays in order.
      const batch = o.data.batch(org, Math.min(o.batchSize, o.rowsPerOrg - perOrg[org]!));
      perOrg[org]! += batch.length;
      const records = await appendBatch(o.base, o.orgs[org]!, JSON.stringify({ records: batch }));
      o.onRecords(records);
      rows += records.length;
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        o.progress(`  … ${rows.toLocaleString("en-US")} rows (${Math.round(rows / elapsed()).toLocaleString("en-US")} records/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.loops }, loop));
  const seconds = elapsed();
  return { rows, seconds, records_per_s: rows / seconds, complete: next >= jobs };
}

export function httpPath(args: QueryArgs): string {
  if (args.resource) return `/api/v1/audit/logs/resource/${args.resource.type}/${args.resource.id}`;
  const query = new URLSearchParams();
  if (args.startDate) query.set("start_date", args.startDate);
  if (args.endDate) query.set("end_date", args.endDate);
  if (args.action) query.set("action", args.action);
  if (args.actorId) query.set("actor_id", args.actorId);
  if (args.search) query.set("search", args.search);
  return `/api/v1/audit/logs?${query}`;
}

/** One call before loading: it must answer 200 and its total (compared with the copy's by the caller). */
export async function httpTotal(base: string, org: ReadOrg, args: QueryArgs): Promise<number> {
  const res = await fetch(`${base}${httpPath(args)}`, { headers: { Authorization: `Bearer ${org.adminToken}` }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${httpPath(args)} answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { total: number }).total;
}

export function httpReadLatency(o: { base: string; orgs: ReadOrg[]; kind: QueryKind; connections: number; seconds: number }): Promise<LatencyResult> {
  const rng = prng(7);
  return measureLatency({
    base: o.base,
    connections: o.connections,
    seconds: o.seconds,
    next: () => {
      const org = Math.floor(rng() * o.orgs.length);
      return { path: httpPath(o.kind.args(rng, org)), headers: { Authorization: `Bearer ${o.orgs[org]!.adminToken}` } };
    },
  });
}

// The raw side builds its SQL with the project's own filters and drizzle, exactly as the routes do
// (read-routes.ts → read-store.ts pageOfRecords / anyRecord), so both sides run the same statements.
// Neither side has run ANALYZE: the copy has the migrations' schema and indexes only, as D1 does here.
const qb = new QueryBuilder();
const PER_PAGE = 50;

// As store.ts recordsPage and cappedCount: one row past the page (is there a next_cursor?), and a count that stops at the cap.
function pageStatements(where: SQL | undefined) {
  const matching = qb.select({ one: sql`1`.as("one") }).from(auditLogs).where(where).limit(TOTAL_CAP + 1).as("matching");
  return [
    { ...qb.select().from(auditLogs).where(where).orderBy(...newestFirst).limit(PER_PAGE + 1).offset(0).toSQL(), counts: false },
    { ...qb.select({ n: count() }).from(matching).toSQL(), counts: true },
  ];
}

function rawStatements(args: QueryArgs, orgId: string) {
  if (args.resource) {
    const where = logConditions({ organizationId: orgId, resourceTypes: [args.resource.type], resourceId: args.resource.id });
    return [{ ...qb.select({ id: auditLogs.id }).from(auditLogs).where(where).limit(1).toSQL(), counts: false }, ...pageStatements(where)];
  }
  return pageStatements(
    logConditions({
      organizationId: orgId,
      startDate: args.startDate,
      endDate: args.endDate,
      actions: args.action ? [args.action] : undefined,
      actorId: args.actorId,
      search: args.search,
    }),
  );
}

// drizzle's SQL leaves count(*) unaliased (it maps columns by position), so read it by position too.
const firstValue = (row: unknown) => Number(Object.values(row as Record<string, unknown>)[0]);

/** How many rows the query matches in the copy, up to the cap (the count statement the Worker runs too). */
export function rawTotal(db: DatabaseSync, args: QueryArgs, orgId: string): number {
  const counting = rawStatements(args, orgId).find((s) => s.counts)!;
  return firstValue(db.prepare(counting.sql).get(...(counting.params as (string | number)[])));
}

/** SQLite's plan for each statement of the query (into the JSON: where the time goes). */
export function rawPlans(db: DatabaseSync, args: QueryArgs, orgId: string): string[] {
  return rawStatements(args, orgId).map((s) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).all(...(s.params as (string | number)[])) as { detail: string }[]).map((r) => r.detail).join("; "),
  );
}

/** The same query kind run back to back in this process for `seconds`; also how many rows matched on average. */
export function rawReadLatency(db: DatabaseSync, orgIds: string[], kind: QueryKind, seconds: number) {
  const prepared = new Map<string, StatementSync>();
  const statement = (sql: string) => prepared.get(sql) ?? prepared.set(sql, db.prepare(sql)).get(sql)!;
  const rng = prng(7);
  const times: number[] = [];
  let matched = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const org = Math.floor(rng() * orgIds.length);
    const statements = rawStatements(kind.args(rng, org), orgIds[org]!);
    const t0 = performance.now();
    for (const s of statements) {
      const rows = statement(s.sql).all(...(s.params as (string | number)[]));
      if (s.counts) matched += firstValue(rows[0]);
    }
    times.push(performance.now() - t0);
  }
  return { ...latencySummary(times, (performance.now() - started) / 1000), matched_avg: matched / times.length };
}

export type ProofTarget = { id: string; organization_id: string };

/** Records to prove, drawn over the API: `pages` random pages of 200 from each org's newest 10,000. */
export async function proofTargets(base: string, orgs: ReadOrg[], pages = 5): Promise<ProofTarget[]> {
  const rng = prng(7);
  const targets: ProofTarget[] = [];
  for (const org of orgs) {
    for (let i = 0; i < pages; i++) {
      const res = await fetch(`${base}/api/v1/audit/logs?per_page=200&page=${1 + Math.floor(rng() * 50)}`, { headers: { Authorization: `Bearer ${org.adminToken}` } });
      if (!res.ok) throw new Error(`listing records of ${org.id}: ${res.status} ${await res.text()}`);
      targets.push(...((await res.json()) as { items: ProofTarget[] }).items.map(({ id, organization_id }) => ({ id, organization_id })));
    }
  }
  return targets;
}

/** Inclusion proofs of random records, after each org's head was signed (so no request signs one). */
export async function proofLatency(o: { base: string; orgs: ReadOrg[]; sample: ProofTarget[]; connections: number; seconds: number }): Promise<LatencyResult> {
  const auth = (org: ReadOrg) => ({ Authorization: `Bearer ${org.adminToken}` });
  for (const org of o.orgs) {
    const res = await fetch(`${o.base}/api/v1/audit/tree-head`, { headers: auth(org) });
    if (res.status !== 200) throw new Error(`tree-head of ${org.id}: ${res.status} ${await res.text()}`);
  }
  const byId = new Map(o.orgs.map((org) => [org.id, org]));
  const rng = prng(11);
  return measureLatency({
    base: o.base,
    connections: o.connections,
    seconds: o.seconds,
    next: () => {
      const pick = o.sample[Math.floor(rng() * o.sample.length)]!;
      return { path: `/api/v1/audit/logs/${pick.id}/proof`, headers: auth(byId.get(pick.organization_id)!) };
    },
  });
}
