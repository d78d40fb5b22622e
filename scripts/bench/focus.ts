// Focused figures for validation speed and uncapped-export memory, against a kept state dir so the
// rows are built once: tsx scripts/bench/focus.ts --dir /tmp/focus [--fill] [--validate N] [--export small|large]
// [--retention] (prunes both orgs: run it on a copy of the dir)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { appendBatch, batchBody, createOrgs, orgAdminToken, type Org, validate } from "./api";
import { uncappedExport } from "./exports";
import { profileDuring } from "./profile";
import { connectInspector, peakDuring, workerdPid } from "./memory";
import { retentionFigures } from "./retention";
import { bundleWorker, type Credentials, prepareDatabase, startServer, writeSecrets } from "./server";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    port: { type: "string", default: "8851" },
    fill: { type: "string" },
    validate: { type: "string", default: "0" },
    export: { type: "string", multiple: true, default: [] },
    profile: { type: "boolean", default: false },
    timeline: { type: "boolean", default: false },
    retention: { type: "boolean", default: false },
    // With --timeline: a full GC before each sample, so the timeline shows live memory, not garbage.
    live: { type: "boolean", default: false },
  },
});
const dir = values.dir!;
const stateDir = join(dir, "state");
const metaFile = join(dir, "meta.json");
type Meta = { admin: Credentials; orgs: { small: Org & { admin: string }; large: Org & { admin: string } } };
const log = (t: string) => console.error(`[focus ${new Date().toISOString().slice(11, 19)}] ${t}`);

async function fillOrg(base: string, org: Org, rows: number) {
  const body = batchBody(1000);
  let added = 0;
  const loop = async () => {
    while (added < rows) {
      added += 1000;
      await appendBatch(base, org, body);
    }
  };
  await Promise.all([loop(), loop(), loop(), loop()]);
}

async function main() {
  const fresh = !existsSync(metaFile);
  if (fresh) {
    mkdirSync(stateDir, { recursive: true });
    await writeSecrets(dir);
  }
  const admin = fresh ? await prepareDatabase(stateDir) : (JSON.parse(readFileSync(metaFile, "utf8")) as Meta).admin;
  const script = bundleWorker(dir);
  const server = await startServer({ port: Number(values.port), dir, stateDir, envFile: join(dir, "bench.env"), script });
  try {
    let meta: Meta;
    if (fresh) {
      const [small, large] = await createOrgs(server.base, admin, 2, "Focus org");
      meta = {
        admin,
        orgs: {
          small: { ...small!, admin: await orgAdminToken(server.base, admin, small!.id) },
          large: { ...large!, admin: await orgAdminToken(server.base, admin, large!.id) },
        },
      };
      writeFileSync(metaFile, JSON.stringify(meta));
    } else meta = JSON.parse(readFileSync(metaFile, "utf8")) as Meta;
    if (values.fill) {
      const [small, large] = values.fill.split(",").map(Number);
      log(`filling small org with ${small} rows, large with ${large}`);
      await fillOrg(server.base, meta.orgs.small, small!);
      await fillOrg(server.base, meta.orgs.large, large!);
    }
    const runs = Number(values.validate);
    if (runs > 0) await validate(server.base, admin, meta.orgs.small.id, 1000); // warm-up
    if (values.profile) {
      const { top } = await profileDuring(server.inspectorPort, () => validate(server.base, admin, meta.orgs.small.id, 100_000));
      console.log(top);
    }
    const runner = runs > 0 ? workerdPid(server.pid, server.stateDir) : 0;
    const cpu = () => {
      const f = readFileSync(`/proc/${runner}/stat`, "utf8").split(") ")[1]!.split(" ");
      return (Number(f[11]) + Number(f[12])) / 100;
    };
    for (let i = 0; i < runs; i++) {
      const cpuBefore = cpu();
      const started = performance.now();
      const answer = await validate(server.base, admin, meta.orgs.small.id, 100_000);
      const s = (performance.now() - started) / 1000;
      log(`validate: checked ${answer.checked} valid ${answer.valid} in ${s.toFixed(2)} s = ${Math.round(answer.checked / s)} rows/s; workerd CPU ${(cpu() - cpuBefore).toFixed(2)} s`);
    }
    if (values.export!.length > 0) {
      const pid = workerdPid(server.pid, server.stateDir);
      const inspector = await connectInspector(server.inspectorPort);
      for (const which of values.export as ("small" | "large")[]) {
        const { result, memory } = await peakDuring(pid, inspector, () => uncappedExport(server.base, meta.orgs[which].admin, 900, log), 50);
        if (values.timeline) {
          const line: string[] = [];
          const t0 = performance.now();
          let stop = false;
          const sampler = (async () => {
            while (!stop) {
              line.push(`${((performance.now() - t0) / 1000).toFixed(1)}:${((await inspector!.heapUsed()) / 1048576).toFixed(0)}`);
              await new Promise((r) => setTimeout(r, 200));
            }
          })();
          await uncappedExport(server.base, meta.orgs[which].admin, 900, log);
          stop = true;
          await sampler;
          console.log(line.join(" "));
        }
        log(`export ${which}: ${result.rows} rows, ${result.bytes} bytes in ${result.seconds.toFixed(1)} s sha ${result.sha256?.slice(0, 12)}; ${JSON.stringify(memory)} growth ${(memory.heap_peak_mb! - memory.heap_before_mb!).toFixed(1)} MB`);
      }
      inspector?.close();
    }
    if (values.retention) {
      const inspector = await connectInspector(server.inspectorPort);
      const watch = { pid: workerdPid(server.pid, server.stateDir), inspector };
      const line: string[] = [];
      let sampling = values.timeline;
      const t0 = performance.now();
      const sampler = (async () => {
        while (sampling) {
          if (values.live) await inspector!.collect();
          line.push(`${((performance.now() - t0) / 1000).toFixed(1)}:${((await inspector!.heapUsed()) / 1048576).toFixed(0)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      for (const figure of await retentionFigures(server.base, admin, [meta.orgs.small.id, meta.orgs.large.id], watch, log)) {
        log(`${figure.name}: ${figure.value.toFixed(1)} ${figure.unit} (${figure.note})`);
      }
      sampling = false;
      await sampler;
      if (values.timeline) console.log(line.join(" "));
      inspector?.close();
    }
  } finally {
    await server.stop();
  }
}

await main();
