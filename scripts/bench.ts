// npm run bench [-- --full] [-- --port N]: starts the Worker with `wrangler dev` on its own port,
// state dir and secrets, loads it over loopback, and prints each figure next to a baseline
// measured in the same run (the HTTP floor, or the same work done raw in one Node process).
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { appendBatch, batchBody, createOrgs, type Org, orgAdminToken, sampleRecord, validate } from "./bench/api";
import { type LoadResult, measure } from "./bench/load";
import { rawBaselines, rawKey, sealMatches } from "./bench/raw";
import { readingFigures, uncappedExportFigures, watchWorker } from "./bench/reading";
import { type Figure, printTable, writeJson } from "./bench/report";
import { retentionFigures } from "./bench/retention";
import { scheduledValidationFigures } from "./bench/scheduled";
import { bundleWorker, type Credentials, prepareDatabase, type Server, startServer, writeSecrets } from "./bench/server";

const ORGS = 10;
const CONNECTIONS = 64;
const BATCH_SIZE = 1000;
const BATCH_CONNECTIONS = 4;
const LOAD_SECONDS = 8;
const VALIDATE_ROWS = 100_000;
const FULL_ROWS = 1_000_000;
// The --full fill stops here even if 1M rows are not reached; the output says so.
const FULL_FILL_SECONDS = 360;

// The read dataset over 10 orgs: the issue's 1M rows take ~4 min to build on a 2-core machine, so
// they come with --full; the default run reads a 200k-row dataset (labelled so in the table).
const READ_ROWS_FULL = 1_000_000;
const READ_ROWS_DEFAULT = 200_000;

type Options = { full: boolean; port: number; readRows: number };

function parseOptions(): Options {
  try {
    const { values } = parseArgs({
      options: { full: { type: "boolean", default: false }, port: { type: "string", default: "8797" }, "read-rows": { type: "string" } },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 1024 || port > 65535 || port === 8787) throw new Error("--port must be 1024–65535 and not 8787");
    const readRows = Number(values["read-rows"] ?? (values.full ? READ_ROWS_FULL : READ_ROWS_DEFAULT));
    if (!Number.isInteger(readRows) || readRows < 20_000 || readRows > 10_000_000) throw new Error("--read-rows must be 20,000–10,000,000");
    return { full: values.full!, port, readRows };
  } catch (err) {
    console.error(`${(err as Error).message}\nusage: npm run bench [-- --full] [-- --port 8797] [-- --read-rows 200000]`);
    process.exit(2);
  }
}

const progress = (text: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);
const seconds = (since: number) => (performance.now() - since) / 1000;

const jsonHeaders = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/json" });

type HttpLoads = { floor: LoadResult; oneOrg: LoadResult; spread: LoadResult; batch: LoadResult };

async function httpFigures(base: string, orgs: Org[]): Promise<{ figures: Figure[]; loads: HttpLoads }> {
  progress(`GET /healthz, ${CONNECTIONS} connections, ${LOAD_SECONDS} s`);
  const floor = await measure({ url: `${base}/healthz`, connections: CONNECTIONS, seconds: LOAD_SECONDS });

  const single = { url: `${base}/api/v1/audit/logs`, connections: CONNECTIONS, seconds: LOAD_SECONDS, method: "POST" as const, body: JSON.stringify(sampleRecord()) };
  progress(`single-record appends to one org, ${CONNECTIONS} connections, ${LOAD_SECONDS} s`);
  const oneOrg = await measure({ ...single, headersFor: () => jsonHeaders(orgs[0]!.token) });
  progress(`single-record appends spread over ${orgs.length} orgs, ${CONNECTIONS} connections, ${LOAD_SECONDS} s`);
  const spread = await measure({ ...single, headersFor: (i) => jsonHeaders(orgs[i % orgs.length]!.token) });

  progress(`${BATCH_SIZE}-record batches to one org, ${BATCH_CONNECTIONS} connections, ${LOAD_SECONDS} s`);
  const batch = await measure({
    url: `${base}/api/v1/audit/logs/batch`,
    connections: BATCH_CONNECTIONS,
    seconds: LOAD_SECONDS,
    method: "POST",
    body: batchBody(BATCH_SIZE),
    headersFor: () => jsonHeaders(orgs[0]!.token),
  });

  const floorBaseline = { name: "healthz req/s", value: floor.ok_per_s };
  const latency = (r: LoadResult) => `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms${r.non2xx + r.errors > 0 ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ""}`;
  const figures: Figure[] = [
    { name: "HTTP floor: GET /healthz", value: floor.ok_per_s, unit: "req/s", note: latency(floor) },
    { name: "append 1 record, 1 org", value: oneOrg.ok_per_s, unit: "req/s", baseline: floorBaseline, target: { min_ratio: 0.65 }, note: latency(oneOrg) },
    { name: `append 1 record, ${orgs.length} orgs`, value: spread.ok_per_s, unit: "req/s", baseline: floorBaseline, target: { min_ratio: 0.65 }, note: latency(spread) },
  ];
  return { figures, loads: { floor, oneOrg, spread, batch } };
}

/** Posts batches from BATCH_CONNECTIONS loops until the org's head reaches `targetRows` (or time runs out). */
async function fill(base: string, org: Org, targetRows: number, maxSeconds: number) {
  const body = batchBody(BATCH_SIZE);
  const started = performance.now();
  let head = 0;
  let added = 0;
  let lastReport = started;
  const loop = async () => {
    while (head < targetRows && seconds(started) < maxSeconds) {
      const records = await appendBatch(base, org, body);
      head = Math.max(head, records.at(-1)!.seq!);
      added += records.length;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        progress(`  … head at seq ${head.toLocaleString("en-US")} (${Math.round(added / seconds(started)).toLocaleString("en-US")} records/s)`);
      }
    }
  };
  await Promise.all(Array.from({ length: BATCH_CONNECTIONS }, loop));
  const elapsed = seconds(started);
  return { head, added, seconds: elapsed, records_per_s: added / elapsed };
}

async function validateOnce(base: string, admin: Credentials, org: Org) {
  const started = performance.now();
  const answer = await validate(base, admin, org.id, VALIDATE_ROWS);
  const elapsed = seconds(started);
  if (!answer.valid || answer.checked !== VALIDATE_ROWS) {
    throw new Error(`validation answered ${JSON.stringify(answer)}; expected valid: true, checked: ${VALIDATE_ROWS}`);
  }
  return { seconds: elapsed, rows_per_s: answer.checked / elapsed };
}

/** Pages through the whole chain with next_start_id; each call appends one chain_validate record. */
async function validateAll(base: string, admin: Credentials, org: Org, headBefore: number) {
  const started = performance.now();
  let checked = 0;
  let calls = 0;
  let startId: string | undefined;
  for (;;) {
    const answer = await validate(base, admin, org.id, VALIDATE_ROWS, startId);
    calls++;
    checked += answer.checked;
    if (!answer.valid) throw new Error(`chain reported broken: ${JSON.stringify(answer)}`);
    if (!answer.next_start_id) break;
    startId = answer.next_start_id;
  }
  const elapsed = seconds(started);
  // Every call but the last appended a record the following walks also covered.
  const expected = headBefore + calls - 1;
  if (checked !== expected) throw new Error(`paged validation checked ${checked} rows; the chain had ${expected}`);
  return { checked, calls, seconds: elapsed, rows_per_s: checked / elapsed };
}

type Setup = { server: Server; admin: Credentials; orgs: Org[]; raw: Awaited<ReturnType<typeof rawBaselines>>; workDir: string };

/** Bundle, secrets, migrated state dir with a super_admin, the raw baseline, wrangler dev, 10 orgs. */
async function setUp(options: Options, workDir: string, setServer: (s: Server) => void): Promise<Setup> {
  const stateDir = join(workDir, "state");
  mkdirSync(stateDir);
  progress(`bundling the Worker and preparing ${stateDir}`);
  const script = bundleWorker(workDir);
  const { secrets, envFile } = await writeSecrets(workDir);
  const admin = await prepareDatabase(stateDir);

  // Before wrangler starts, so the raw baseline has the machine to itself.
  progress(`raw baseline: ${BATCH_SIZE}-record batches sealed with node:crypto into node:sqlite`);
  const key = await rawKey(secrets.AUDIT_HMAC_KEY);
  const inputs = Array.from({ length: BATCH_SIZE }, sampleRecord);
  const raw = await rawBaselines(join(workDir, "raw.sqlite"), inputs, key, { seconds: LOAD_SECONDS, maxRows: VALIDATE_ROWS });

  progress(`starting wrangler dev on 127.0.0.1:${options.port}`);
  const server = await startServer({ port: options.port, dir: workDir, stateDir, envFile, script });
  setServer(server);
  progress(`creating ${ORGS} organizations with an ingest token each`);
  const orgs = await createOrgs(server.base, admin, ORGS);
  const probe = await appendBatch(server.base, orgs[0]!, batchBody(2));
  if (!probe.every((r) => sealMatches(key, r))) throw new Error("node:crypto does not reproduce the Worker's row_hmac; the raw baseline would seal other bytes");
  return { server, admin, orgs, raw, workDir };
}

async function validationFigures({ server, admin, orgs, raw }: Setup, batch: LoadResult): Promise<{ figures: Figure[]; head: number }> {
  progress(`topping org 1 up to ≥ ${VALIDATE_ROWS.toLocaleString("en-US")} rows`);
  const topUp = await fill(server.base, orgs[0]!, VALIDATE_ROWS, 300);
  if (topUp.head < VALIDATE_ROWS) throw new Error(`only ${topUp.head} rows after 300 s of batch appends`);
  progress(`GET /audit/validate limit=${VALIDATE_ROWS.toLocaleString("en-US")} as super_admin`);
  const validation = await validateOnce(server.base, admin, orgs[0]!);
  const figures: Figure[] = [
    {
      name: `append batches of ${BATCH_SIZE}, ${BATCH_CONNECTIONS} conns`,
      value: batch.ok_per_s * BATCH_SIZE,
      unit: "records/s",
      baseline: { name: "raw node:crypto+sqlite records/s", value: raw.append.rows_per_s },
      target: { min_value: 20_000 },
      note: `p50 ${batch.p50_ms} ms, p99 ${batch.p99_ms} ms per batch${batch.non2xx + batch.errors > 0 ? `, ${batch.non2xx} non-2xx, ${batch.errors} errors` : ""}`,
    },
    {
      name: `validate ${VALIDATE_ROWS.toLocaleString("en-US")} rows (one call)`,
      value: validation.rows_per_s,
      unit: "rows/s",
      baseline: { name: "raw node:crypto+sqlite rows/s", value: raw.validate.rows_per_s },
      target: { min_value: 100_000 },
      note: `${validation.seconds.toFixed(2)} s for the call; valid: true, checked: ${VALIDATE_ROWS}`,
    },
  ];
  return { figures, head: topUp.head };
}

async function fullChainFigures({ server, admin, orgs, raw }: Setup): Promise<Figure[]> {
  progress(`--full: filling org 1 up to ${FULL_ROWS.toLocaleString("en-US")} rows (at most ${FULL_FILL_SECONDS} s)`);
  const big = await fill(server.base, orgs[0]!, FULL_ROWS, FULL_FILL_SECONDS);
  const reached = big.head >= FULL_ROWS;
  if (!reached) progress(`  the fill stopped at ${big.head} rows after ${FULL_FILL_SECONDS} s; validating what exists`);
  progress(`paging through all ${big.head.toLocaleString("en-US")} rows with next_start_id, limit ${VALIDATE_ROWS.toLocaleString("en-US")}`);
  const all = await validateAll(server.base, admin, orgs[0]!, big.head);
  return [
    {
      name: `build chain to ${(big.head / 1e6).toFixed(2)}M rows`,
      value: big.records_per_s,
      unit: "records/s",
      target: { min_value: 20_000 },
      note: `${big.added.toLocaleString("en-US")} records in ${big.seconds.toFixed(1)} s, ${BATCH_CONNECTIONS} loops${reached ? "" : ` — STOPPED at the ${FULL_FILL_SECONDS} s cap before 1M`}`,
    },
    {
      name: `validate whole chain (${all.calls} calls)`,
      value: all.rows_per_s,
      unit: "rows/s",
      baseline: { name: "raw node:crypto+sqlite rows/s", value: raw.validate.rows_per_s },
      target: { min_value: 100_000 },
      note: `${all.checked.toLocaleString("en-US")} rows in ${all.seconds.toFixed(1)} s, all valid`,
    },
  ];
}

async function run(options: Options, workDir: string, setServer: (s: Server) => void) {
  const loadBefore = loadavg()[0]!;
  // Everything here shares the same cores; another busy process skews every figure.
  if (loadBefore > 0.5) progress(`warning: the 1-minute load average is ${loadBefore.toFixed(2)} before the bench starts; figures will be lower`);
  const setup = await setUp(options, workDir, setServer);
  const http = await httpFigures(setup.server.base, setup.orgs);
  const validation = await validationFigures(setup, http.loads.batch);
  const batchRecordsPerS = http.loads.batch.ok_per_s * BATCH_SIZE;
  const { server, admin } = setup;
  const watch = await watchWorker(server);
  const reading = await readingFigures({ server, admin, workDir, rows: options.readRows, batchSize: BATCH_SIZE, progress, watch });
  // Uncapped export: by default one read org; with --full the org holding the 1M-row chain.
  const exportFigures = options.full
    ? [...(await fullChainFigures(setup)), ...(await uncappedExportFigures(server.base, await orgAdminToken(server.base, admin, setup.orgs[0]!.id), "org 1 (the --full chain)", watch, progress))]
    : await uncappedExportFigures(server.base, reading.orgs[1]!.adminToken, `1 read org (${reading.rowsPerOrg.toLocaleString("en-US")} rows)`, watch, progress);
  // Last, over every organization the bench made: with --full the read orgs' 1M rows (and org 1's chain).
  const everyOrg = [...setup.orgs, ...reading.orgs].map((org) => org.id);
  const scheduled = await scheduledValidationFigures(server.base, admin, everyOrg, progress);
  // Retention deletes what everything above read: it goes very last.
  const retention = await retentionFigures(server.base, admin, everyOrg, watch, progress);
  watch.inspector?.close();
  const figures = [...http.figures, ...validation.figures, ...reading.figures, ...exportFigures, ...scheduled, ...retention];

  const notes = [
    batchRecordsPerS < 20_000
      ? `Batch appends reach ${Math.round(batchRecordsPerS)} records/s, below the 20,000 target; the same rows sealed and inserted raw in one Node process reach ${Math.round(setup.raw.append.rows_per_s)} records/s on this machine, and SQLite alone inserts them (sealed beforehand) at ${Math.round(setup.raw.insertOnly.rows_per_s)} rows/s into this schema: its indexes and the trigram search index bound any append rate here.`
      : "",
    options.readRows < READ_ROWS_FULL
      ? `The read figures ran on ${options.readRows.toLocaleString("en-US")} rows over 10 orgs, not the issue's 1,000,000 (run \`npm run bench -- --full\`); the uncapped export on one org of them. The scheduled validation pass walked every org of the run: those rows, org 1's ${validation.head.toLocaleString("en-US")} and the load tests' appends.`
      : "",
    options.full
      ? ""
      : `The 1,000,000-row chain was not built (run \`npm run bench -- --full\`); at the measured ${Math.round(batchRecordsPerS)} records/s it takes about ${Math.round((FULL_ROWS - validation.head) / batchRecordsPerS)} s more.`,
  ].filter(Boolean);
  const meta = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
    node: process.version,
    full: options.full,
    load_average_1m: { before: loadBefore, after: loadavg()[0] },
    raw: setup.raw,
    loads: http.loads,
    reading: reading.meta,
    notes,
  };
  return { figures, notes, meta };
}

/** Everything but the results (and the wrangler log after a failure) goes; an empty dir too. */
function cleanWorkDir(workDir: string, keep: string[]) {
  for (const name of readdirSync(workDir)) {
    if (!keep.includes(name)) rmSync(join(workDir, name), { recursive: true, force: true });
  }
  if (readdirSync(workDir).length === 0) rmSync(workDir, { recursive: true, force: true });
}

async function main() {
  const options = parseOptions();
  const workDir = mkdtempSync(join(tmpdir(), "chainproof-bench-"));
  const resultsFile = join(workDir, "bench-results.json");
  let server: Server | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (failed: boolean) =>
    (cleaning ??= (async () => {
      await server?.stop();
      cleanWorkDir(workDir, failed ? ["bench-results.json", "wrangler.log"] : ["bench-results.json"]);
    })());
  // `on`, not `once`: npm and tsx pass a Ctrl-C on, so it can arrive twice, and a second one
  // without a handler would end the process before the cleanup is done.
  let interrupted = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      progress(`${signal}: stopping wrangler and removing ${workDir}`);
      void cleanup(false).finally(() => process.exit(130));
    });
  }

  const started = performance.now();
  try {
    const { figures, notes, meta } = await run(options, workDir, (s) => (server = s));
    writeJson(resultsFile, { ...meta, bench_seconds: seconds(started) }, figures);
    await cleanup(false);
    printTable(figures);
    for (const note of notes) console.log(note);
    console.log(`Bench took ${seconds(started).toFixed(0)} s. Results as JSON: ${resultsFile}`);
  } catch (err) {
    if (server) {
      const tail = readFileSync(server.logFile, "utf8").split("\n").slice(-20).join("\n");
      console.error(`--- last lines of ${server.logFile} ---\n${tail}`);
    }
    await cleanup(true);
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    if (existsSync(join(workDir, "wrangler.log"))) console.error(`wrangler's whole log: ${join(workDir, "wrangler.log")}`);
    process.exitCode = 1;
  }
}

await main();
