// The "reading" figures, measured after the write figures against the same `wrangler dev`: a varied
// dataset over 10 fresh orgs, five typical queries (p50/p95) next to the same SQL in node:sqlite on a
// copy of the same rows, inclusion proofs of random records, capped exports with the Worker's
// memory watched, and an uncapped export downloaded through its signed link and hashed.
import { join } from "node:path";
import { createOrgs, orgAdminToken } from "./api";
import { queryKinds, readDataset, SPAN_DAYS } from "./dataset";
import { cappedExport, download, uncappedExport } from "./exports";
import type { LatencyResult } from "./load";
import { connectInspector, type Inspector, type MemoryPeak, peakDuring, workerdPid } from "./memory";
import { openDatabase, recordInserter } from "./raw";
import { fillReadOrgs, httpReadLatency, httpTotal, type ProofTarget, proofLatency, rawPlans, rawReadLatency, rawTotal, type ReadOrg } from "./reads";
import type { Figure } from "./report";
import type { Credentials, Server } from "./server";

const READ_ORGS = 10;
const FILL_LOOPS = 4;
const FILL_MAX_SECONDS = 480;
// A couple of dashboard users at once. Local workerd runs the Worker and D1 on one thread, so every
// extra connection mostly adds queueing to the latency, not load a deployed D1 would feel.
const READ_CONNECTIONS = 2;
const READ_SECONDS = 5;
const RAW_READ_SECONDS = 2;
const P95_TARGET_MS = 50;
const SMALL_EXPORT_ROWS = 1000;
const MEMORY_REPS = 3;
const EXPORT_MAX_SECONDS = 900;
const DAY_MS = 24 * 60 * 60 * 1000;
const MB = 1024 * 1024;

type Progress = (text: string) => void;
export type Watch = { pid: number; inspector: Inspector | null };

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mbText = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/** The workerd that runs the Worker, and its isolate's heap if the inspector answers. */
export async function watchWorker(server: Server): Promise<Watch> {
  return { pid: workerdPid(server.pid, server.stateDir), inspector: await connectInspector(server.inspectorPort) };
}

/** "heap +3.2 MB (41.0 → 44.2), workerd RSS +12.0 MB" */
function growthText(m: MemoryPeak) {
  const heap = m.heap_before_mb === null ? "heap n/a" : `heap +${(m.heap_peak_mb! - m.heap_before_mb).toFixed(1)} MB (${m.heap_before_mb} → ${m.heap_peak_mb})`;
  return `${heap}, workerd RSS +${(m.rss_peak_mb - m.rss_before_mb).toFixed(1)} MB`;
}
/** Heap growth if the inspector answers, RSS growth otherwise. */
const growth = (m: MemoryPeak) => (m.heap_before_mb === null ? m.rss_peak_mb - m.rss_before_mb : m.heap_peak_mb! - m.heap_before_mb);
/** The run with the median growth (GC timing makes single runs jumpy). */
const medianRun = (runs: MemoryPeak[]) => [...runs].sort((a, b) => growth(a) - growth(b))[Math.floor(runs.length / 2)]!;

export async function readingFigures(o: { server: Server; admin: Credentials; workDir: string; rows: number; batchSize: number; progress: Progress; watch: Watch }) {
  const { server, progress } = o;
  const base = server.base;
  const rowsPerOrg = Math.ceil(o.rows / READ_ORGS);
  progress(`read dataset: ${READ_ORGS} new orgs, an ingest and an org_admin token each`);
  const orgs: ReadOrg[] = [];
  for (const org of await createOrgs(base, o.admin, READ_ORGS, "Bench reader org")) orgs.push({ ...org, adminToken: await orgAdminToken(base, o.admin, org.id) });

  // The raw copy receives every record exactly as the Worker answered it (ids, seqs, seals).
  const raw = openDatabase(join(o.workDir, "raw-reads.sqlite"));
  try {
    const insert = recordInserter(raw);
    const data = readDataset(READ_ORGS, Date.now());
    progress(`appending ${fmt(rowsPerOrg)} varied records to each (${o.batchSize}-record batches, ${FILL_LOOPS} loops across the orgs, at most ${FILL_MAX_SECONDS} s)`);
    const fill = await fillReadOrgs({ base, orgs, data, rowsPerOrg, batchSize: o.batchSize, loops: FILL_LOOPS, maxSeconds: FILL_MAX_SECONDS, onRecords: insert, progress });
    const label = `${(fill.rows / 1e6).toFixed(2)}M rows/${READ_ORGS} orgs`;
    const shortLabel = `${+(fill.rows / 1e6).toFixed(2)}M`;
    if (!fill.complete) progress(`  the fill stopped at ${fmt(fill.rows)} rows after ${FILL_MAX_SECONDS} s; reading what exists`);

    const kinds = queryKinds(data);
    progress(`node:sqlite copy: each query for ${RAW_READ_SECONDS} s, one at a time`);
    const rawResults = kinds.map((kind) => ({
      ...rawReadLatency(raw, orgs.map((org) => org.id), kind, RAW_READ_SECONDS),
      plans: rawPlans(raw, kind.args(() => 0.5, 0), orgs[0]!.id),
    }));
    const httpResults: LatencyResult[] = [];
    for (const kind of kinds) {
      // The Worker and the copy must agree on one fixed draw: same rows, same filter semantics.
      const args = kind.args(() => 0.5, 0);
      const [viaHttp, inCopy] = [await httpTotal(base, orgs[0]!, args), rawTotal(raw, args, orgs[0]!.id)];
      if (viaHttp !== inCopy) throw new Error(`${kind.label}: the Worker counts ${viaHttp} rows, the node:sqlite copy ${inCopy}`);
      progress(`GET ${kind.label} as org_admin, ${READ_CONNECTIONS} connections, ${READ_SECONDS} s`);
      httpResults.push(await httpReadLatency({ base, orgs, kind, connections: READ_CONNECTIONS, seconds: READ_SECONDS }));
    }
    progress(`GET /api/v1/audit/logs/{id}/proof (inclusion proofs of random records) as org_admin, ${READ_CONNECTIONS} connections, ${READ_SECONDS} s`);
    const sample = raw.prepare("SELECT id, organization_id FROM audit_logs ORDER BY random() LIMIT 5000").all() as ProofTarget[];
    const proofs = await proofLatency({ base, orgs, sample, connections: READ_CONNECTIONS, seconds: READ_SECONDS });
    const figures: Figure[] = [
      {
        name: `build read dataset (${label})`,
        value: fill.records_per_s,
        unit: "records/s",
        note: `${fmt(fill.rows)} records in ${fill.seconds.toFixed(1)} s; ${SPAN_DAYS} days, 50 actors and 1,000 resources per org${fill.complete ? "" : " — STOPPED at the time cap"}`,
      },
      ...kinds.map((kind, i): Figure => {
        const http = httpResults[i]!;
        const rawResult = rawResults[i]!;
        const failures = http.non2xx + http.errors > 0 ? `, ${http.non2xx} non-2xx, ${http.errors} errors` : "";
        return {
          name: `read ${kind.label} [${shortLabel}]`,
          value: http.p95_ms,
          unit: "ms p95",
          baseline: { name: "node:sqlite p95 ms", value: rawResult.p95_ms },
          target: { max_value: P95_TARGET_MS },
          note: `p50 ${http.p50_ms} ms, ${fmt(http.requests)} req (${http.per_s.toFixed(0)}/s, ${READ_CONNECTIONS} conns)${failures}; node:sqlite p50 ${rawResult.p50_ms} ms; ~${fmt(rawResult.matched_avg)} rows match`,
        };
      }),
      {
        name: `inclusion proof [${shortLabel}]`,
        value: proofs.p95_ms,
        unit: "ms p95",
        target: { max_value: P95_TARGET_MS },
        note: `p50 ${proofs.p50_ms} ms, ${fmt(proofs.requests)} req (${proofs.per_s.toFixed(0)}/s, ${READ_CONNECTIONS} conns)${proofs.non2xx + proofs.errors > 0 ? `, ${proofs.non2xx} non-2xx, ${proofs.errors} errors` : ""}; trees of ~${fmt(rowsPerOrg)} leaves`,
      },
      ...(await cappedExportFigures(base, orgs[0]!, data.endMs, rowsPerOrg, o.watch, progress)),
    ];
    return { figures, orgs, rowsPerOrg, meta: { fill, raw: rawResults.map((r, i) => ({ query: kinds[i]!.key, ...r })), http: httpResults.map((r, i) => ({ query: kinds[i]!.key, ...r })) } };
  } finally {
    raw.close();
  }
}

/**
 * Capped exports per format: a ~1,000-row and the 10,000-row one timed with nothing watching; then
 * memory runs (~1,000, ~5,000 and 10,000 rows, MEMORY_REPS each, every one from a collected heap).
 */
async function cappedExportFigures(base: string, org: ReadOrg, endMs: number, rowsPerOrg: number, watch: Watch, progress: Progress): Promise<Figure[]> {
  // The newest slice of the span that holds about `rows` of the org's rows.
  const newest = (rows: number) => ({ start_date: new Date(endMs - Math.round(((SPAN_DAYS * DAY_MS) / rowsPerOrg) * rows)).toISOString(), end_date: new Date(endMs).toISOString() });
  const sizes = { one: newest(SMALL_EXPORT_ROWS), five: newest(5 * SMALL_EXPORT_ROWS), ten: {} };
  progress(`capped exports as org_admin (JSON, CSV; ~1,000 and 10,000 rows), then the Worker's heap and workerd's RSS during ~1,000/5,000/10,000-row ones`);
  await cappedExport(base, org.adminToken, { format: "json", ...sizes.one }); // warm-up: JIT, csv-stringify loaded
  const figures: Figure[] = [];
  for (const format of ["json", "csv"] as const) {
    const one = await cappedExport(base, org.adminToken, { format, ...sizes.one });
    const ten = await cappedExport(base, org.adminToken, { format });
    const runs = { one: [] as MemoryPeak[], five: [] as MemoryPeak[], ten: [] as MemoryPeak[] };
    const rows = { one: 0, five: 0, ten: 0 };
    for (let i = 0; i < MEMORY_REPS; i++) {
      for (const size of ["one", "five", "ten"] as const) {
        // Sampled back to back (a getHeapUsage round trip is ~2 ms): a ~1,000-row export lasts only ~50 ms.
        const run = await peakDuring(watch.pid, watch.inspector, () => cappedExport(base, org.adminToken, { format, ...sizes[size] }), 0);
        runs[size].push(run.memory);
        rows[size] = run.result.rows;
      }
    }
    const [m1, m5, m10] = [medianRun(runs.one), medianRun(runs.five), medianRun(runs.ten)];
    figures.push({
      name: `capped export ${format}, ${fmt(ten.rows)} rows`,
      value: ten.last_byte_ms,
      unit: "ms to last byte",
      baseline: { name: `${fmt(one.rows)}-row export ms`, value: one.last_byte_ms },
      note: `${mbText(ten.bytes)} (${(ten.bytes / MB / (ten.last_byte_ms / 1000)).toFixed(1)} MB/s), first byte ${ten.first_byte_ms.toFixed(0)} ms, of ${fmt(ten.total)} matching`,
    });
    figures.push({
      name: `  Worker heap peak growth, ${format} ${fmt(rows.ten)} vs ${fmt(rows.one)} rows`,
      value: growth(m10),
      unit: watch.inspector ? "MB" : "MB (RSS)",
      baseline: { name: `${fmt(rows.one)}-row export MB`, value: growth(m1) },
      // No PASS/FAIL: a sampled peak includes garbage V8 has not collected yet (page strings and
      // encoded chunks in large-object space go only at a major GC), so a streamed export also
      // shows some growth with length. Holding every row would track the rows ratio.
      note: `rows ×${(rows.ten / rows.one).toFixed(1)}; median of ${MEMORY_REPS}; ${fmt(rows.ten)}: ${growthText(m10)}; ${fmt(rows.five)}: ${growthText(m5)}; ${fmt(rows.one)}: ${growthText(m1)}`,
    });
  }
  return figures;
}

/** POST /audit/exports for the org, poll to completion, download without credentials, compare hashes. */
export async function uncappedExportFigures(base: string, token: string, label: string, watch: Watch, progress: Progress): Promise<Figure[]> {
  progress(`uncapped export (jsonl) of ${label} as org_admin; polling until complete`);
  const { result: job, memory } = await peakDuring(watch.pid, watch.inspector, () => uncappedExport(base, token, EXPORT_MAX_SECONDS, progress), 100);
  progress(`downloading ${mbText(job.bytes)} through download_url without credentials`);
  const got = await download(base, job.download_url);
  const matches = got.sha256 === job.sha256 && got.bytes === job.bytes && got.lines === job.rows;
  return [
    {
      name: `uncapped export, ${label}`,
      value: job.rows / job.seconds,
      unit: "rows/s",
      note: `${fmt(job.rows)} rows, ${mbText(job.bytes)} in ${job.seconds.toFixed(1)} s (POST to complete); ${growthText(memory)}`,
    },
    {
      name: `  download via signed link`,
      value: got.mb_per_s,
      unit: "MB/s",
      target: { check: { what: "sha256 = reported", ok: matches } },
      note: `${mbText(got.bytes)} in ${got.seconds.toFixed(1)} s, ${fmt(got.lines)} lines; sha256 ${got.sha256.slice(0, 12)}… ${got.sha256 === job.sha256 ? "=" : "≠"} reported ${job.sha256?.slice(0, 12)}…`,
    },
  ];
}
