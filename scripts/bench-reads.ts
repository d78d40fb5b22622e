// npm run bench:reads -- --dir DIR [--rows N] [--port N]: only the read-query figures of `npm run bench`
// (p50/p95 of the five typical queries and of inclusion proofs, as org_admin). The first run builds the dataset in DIR and keeps
// it; a later run on the same DIR applies any new migrations to it and measures again, so a change to
// indexes or queries is compared on the very same rows without rebuilding them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createOrgs, orgAdminToken } from "./bench/api";
import { queryKinds, readDataset } from "./bench/dataset";
import { measureLatency } from "./bench/load";
import { fillReadOrgs, httpReadLatency, httpTotal, proofLatency, proofTargets, type ReadOrg } from "./bench/reads";
import { bundleWorker, type Credentials, prepareDatabase, startServer, writeSecrets } from "./bench/server";
import { wrangler } from "./wrangler";

const ORGS = 10;
const BATCH_SIZE = 1000;
const FILL_LOOPS = 4;
const FILL_MAX_SECONDS = 900;
const CONNECTIONS = 2;
const SECONDS = 5;

const { values } = parseArgs({ options: { dir: { type: "string" }, rows: { type: "string", default: "1000000" }, port: { type: "string", default: "8798" } } });
if (!values.dir) {
  console.error("usage: npm run bench:reads -- --dir DIR [--rows 1000000] [--port 8798]");
  process.exit(2);
}
const dir = values.dir;
const progress = (text: string) => console.error(`[bench:reads ${new Date().toISOString().slice(11, 19)}] ${text}`);

type Saved = { admin: Credentials; orgs: ReadOrg[]; endMs: number; rows: number };
const savedFile = join(dir, "dataset.json");
const stateDir = join(dir, "state");
const fresh = !existsSync(savedFile);
mkdirSync(stateDir, { recursive: true });

const envFile = join(dir, "bench.env");
if (!existsSync(envFile)) await writeSecrets(dir);
const admin = fresh ? await prepareDatabase(stateDir) : (JSON.parse(readFileSync(savedFile, "utf8")) as Saved).admin;
if (!fresh) {
  progress("applying new migrations to the kept dataset");
  const started = performance.now();
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { quiet: true });
  progress(`  migrations took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const server = await startServer({ port: Number(values.port), dir, stateDir, envFile, script: bundleWorker(dir) });
try {
  let saved: Saved;
  if (fresh) {
    const orgs: ReadOrg[] = [];
    for (const org of await createOrgs(server.base, admin, ORGS, "Bench reader org")) orgs.push({ ...org, adminToken: await orgAdminToken(server.base, admin, org.id) });
    const endMs = Date.now();
    const rowsPerOrg = Math.ceil(Number(values.rows) / ORGS);
    progress(`appending ${rowsPerOrg} records to each of ${ORGS} orgs`);
    const data = readDataset(ORGS, endMs);
    const fill = await fillReadOrgs({ base: server.base, orgs, data, rowsPerOrg, batchSize: BATCH_SIZE, loops: FILL_LOOPS, maxSeconds: FILL_MAX_SECONDS, onRecords: () => {}, progress });
    progress(`  ${fill.rows} rows in ${fill.seconds.toFixed(0)} s (${fill.records_per_s.toFixed(0)} records/s)${fill.complete ? "" : " — stopped at the time cap"}`);
    saved = { admin, orgs, endMs, rows: fill.rows };
    writeFileSync(savedFile, JSON.stringify(saved));
  } else saved = JSON.parse(readFileSync(savedFile, "utf8")) as Saved;

  const kinds = queryKinds(readDataset(ORGS, saved.endMs));
  const lines: string[] = [];
  // The floor: an authenticated request that reads no audit_logs rows (token lookup, routing, JSON).
  progress(`GET /api/v1/audit/actions (the floor): ${CONNECTIONS} connections, ${SECONDS} s`);
  let turn = 0;
  const floor = await measureLatency({
    base: server.base,
    connections: CONNECTIONS,
    seconds: SECONDS,
    next: () => ({ path: "/api/v1/audit/actions", headers: { Authorization: `Bearer ${saved.orgs[turn++ % ORGS]!.adminToken}` } }),
  });
  lines.push(`${"floor: GET /api/v1/audit/actions".padEnd(34)} p50 ${String(floor.p50_ms).padStart(7)} ms  p95 ${String(floor.p95_ms).padStart(7)} ms  ${floor.requests} req`);
  for (const kind of kinds) {
    const total = await httpTotal(server.base, saved.orgs[0]!, kind.args(() => 0.5, 0));
    progress(`GET ${kind.label}: ${CONNECTIONS} connections, ${SECONDS} s`);
    const r = await httpReadLatency({ base: server.base, orgs: saved.orgs, kind, connections: CONNECTIONS, seconds: SECONDS });
    lines.push(`${kind.label.padEnd(34)} p50 ${String(r.p50_ms).padStart(7)} ms  p95 ${String(r.p95_ms).padStart(7)} ms  ${r.requests} req, ${r.non2xx} non-2xx, ${r.errors} errors; total ${JSON.stringify(total)}`);
  }
  progress(`GET /api/v1/audit/logs/{id}/proof (random records): ${CONNECTIONS} connections, ${SECONDS} s`);
  const proofs = await proofLatency({ base: server.base, orgs: saved.orgs, sample: await proofTargets(server.base, saved.orgs), connections: CONNECTIONS, seconds: SECONDS });
  lines.push(`${"inclusion proof".padEnd(34)} p50 ${String(proofs.p50_ms).padStart(7)} ms  p95 ${String(proofs.p95_ms).padStart(7)} ms  ${proofs.requests} req, ${proofs.non2xx} non-2xx, ${proofs.errors} errors; trees of ~${Math.round(saved.rows / ORGS)} leaves`);
  console.log(`${saved.rows} rows over ${ORGS} orgs`);
  for (const line of lines) console.log(line);
} finally {
  await server.stop();
}
