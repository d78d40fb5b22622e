// npm run bench:append [-- --port N] [-- --seconds S] [-- --only one,ten,batch] [-- --profile]: the append figures of
// `npm run bench` alone (HTTP floor, single-record appends to 1 and 10 orgs, 1,000-record batches),
// each as a ratio against the floor measured in the same run, in about a minute. --profile adds the
// Worker's CPU profile (self time by function) of each figure: steadier than throughput on a busy machine.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { batchBody, createOrgs, sampleRecord } from "./bench/api";
import { type LoadOptions, type LoadResult, measure } from "./bench/load";
import { profileDuring } from "./bench/profile";
import { bundleWorker, prepareDatabase, startServer } from "./bench/server";

const { values } = parseArgs({ options: { port: { type: "string", default: "8911" }, seconds: { type: "string", default: "6" }, only: { type: "string" }, profile: { type: "boolean", default: false } } });
const port = Number(values.port);
const seconds = Number(values.seconds);
const CONNECTIONS = 64;

const workDir = mkdtempSync(join(tmpdir(), "bench-append-"));
const stateDir = join(workDir, "state");
mkdirSync(stateDir);
const { writeSecrets } = await import("./bench/server");
const script = bundleWorker(workDir);
const { envFile } = await writeSecrets(workDir);
const admin = await prepareDatabase(stateDir);
const server = await startServer({ port, dir: workDir, stateDir, envFile, script });
// CPU seconds used so far by wrangler and the workerd processes it started (its process group):
// the cost of a request independent of what else the machine runs at the time.
function serverCpuSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      if (Number(fields[2]) === server.pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100;
}
/** measure() (its warm-up, then the measured run) with the server's CPU time per 2xx answer. */
async function measured(options: LoadOptions) {
  const cpuAt: number[] = [];
  const run = () => measure({ ...options, onStart: () => cpuAt.push(serverCpuSeconds()) });
  const r = values.profile ? await profiled(run) : await run();
  return { ...r, cpu_ms: ((serverCpuSeconds() - cpuAt.at(-1)!) * 1000) / Math.max(1, r.ok) };
}
async function profiled<T>(work: () => Promise<T>): Promise<T> {
  const { result, top } = await profileDuring(server.inspectorPort, work);
  console.log(top.split("\n").slice(0, 25).join("\n"));
  return result;
}
const line = (name: string, r: LoadResult & { cpu_ms: number }, floor?: number, per = 1) =>
  console.log(
    `${name.padEnd(34)} ${(r.ok_per_s * per).toFixed(0).padStart(7)}${floor ? `  ratio ${((r.ok_per_s * per) / floor).toFixed(2)}` : "           "}` +
      `  server CPU ${r.cpu_ms.toFixed(2)} ms/req  p50 ${r.p50_ms} ms p99 ${r.p99_ms} ms${r.non2xx + r.errors ? `  non2xx ${r.non2xx} errors ${r.errors}` : ""}`,
  );
try {
  const orgs = await createOrgs(server.base, admin, 10);
  const headers = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/json" });
  const single = { url: `${server.base}/api/v1/audit/logs`, connections: CONNECTIONS, seconds, method: "POST" as const, body: JSON.stringify(sampleRecord()) };
  const floor = await measured({ url: `${server.base}/healthz`, connections: CONNECTIONS, seconds });
  line("GET /healthz (floor)", floor);
  const only = values.only?.split(",");
  const want = (name: string) => !only || only.includes(name);
  if (want("one")) line("append 1 record, 1 org", await measured({ ...single, headersFor: () => headers(orgs[0]!.token) }), floor.ok_per_s);
  if (want("ten")) line("append 1 record, 10 orgs", await measured({ ...single, headersFor: (i) => headers(orgs[i % 10]!.token) }), floor.ok_per_s);
  if (want("batch")) {
    const batch = await measured({ url: `${server.base}/api/v1/audit/logs/batch`, connections: 4, seconds, method: "POST", body: batchBody(1000), headersFor: () => headers(orgs[0]!.token) });
    line("batch 1,000/request, 4 conns (rec/s)", batch, undefined, 1000);
  }
} finally {
  await server.stop();
  rmSync(workDir, { recursive: true, force: true });
}
