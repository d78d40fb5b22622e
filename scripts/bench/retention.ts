// Retention as the platform runs it (src/ops/scheduled-retention.ts): the daily cron starts a
// pass, five-minute invocations continue it. The bench's rows are minutes old, so the daily cron is
// dispatched with a scheduled time 400 days ahead: every tier but UNLIMITED then prunes all of
// them. wrangler dev runs the handler on GET /cdn-cgi/local/scheduled?cron=…&time=…, answering
// once it is done.
import { peakDuring } from "./memory";
import type { Watch } from "./reading";
import type { Figure } from "./report";
import type { Credentials } from "./server";

type Progress = (text: string) => void;
type Archive = { count: number; sha256: string };

const DAILY = "17 3 * * *";
const FIVE_MINUTES = "*/5 * * * *";
const AHEAD_MS = 400 * 24 * 60 * 60 * 1000;
const MAX_INVOCATIONS = 200;

async function trigger(base: string, cron: string, time?: number) {
  const url = `${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(cron)}${time ? `&time=${time}` : ""}`;
  const res = await fetch(url);
  await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
}

/** Rows archived so far across `orgIds`, as the archives API lists them. */
async function archivedRows(base: string, admin: Credentials, orgIds: string[]) {
  let rows = 0;
  let archives = 0;
  for (const id of orgIds) {
    const res = await fetch(`${base}/api/v1/audit/archives?organization_id=${id}&limit=100`, {
      headers: { Authorization: `Basic ${btoa(`${admin.username}:${admin.password}`)}` },
    });
    if (!res.ok) throw new Error(`archives answered ${res.status}`);
    const { items } = (await res.json()) as { items: Archive[] };
    archives += items.length;
    rows += items.reduce((n, a) => n + a.count, 0);
  }
  return { rows, archives };
}

/**
 * One retention pass over every organization of the run (the server runs with
 * ENFORCE_ORG_QUOTAS=true), until an invocation archives nothing more; the Worker's heap watched.
 */
export async function retentionFigures(base: string, admin: Credentials, orgIds: string[], watch: Watch, progress: Progress): Promise<Figure[]> {
  progress(`retention: the daily cron 400 days ahead, then five-minute invocations until nothing more is pruned (${orgIds.length} orgs)`);
  const before = await archivedRows(base, admin, orgIds);
  let invocations = 0;
  let handlerMs = 0;
  const invoke = async (cron: string, time?: number) => {
    const started = performance.now();
    await trigger(base, cron, time);
    handlerMs += performance.now() - started;
    invocations++;
  };
  const { result: after, memory } = await peakDuring(watch.pid, watch.inspector, async () => {
    await invoke(DAILY, Date.now() + AHEAD_MS);
    let last = await archivedRows(base, admin, orgIds);
    while (invocations < MAX_INVOCATIONS) {
      await invoke(FIVE_MINUTES);
      const now = await archivedRows(base, admin, orgIds);
      if (now.rows === last.rows) return now;
      last = now;
    }
    return last;
  }, 250);
  const rows = after.rows - before.rows;
  const seconds = handlerMs / 1000;
  const heapGrowth = memory.heap_before_mb === null ? null : memory.heap_peak_mb! - memory.heap_before_mb;
  progress(`  ${rows.toLocaleString("en-US")} rows into ${after.archives - before.archives} archives in ${invocations} invocations, ${seconds.toFixed(1)} s`);
  return [
    {
      name: `retention prune, ${(rows / 1e6).toFixed(2)}M rows/${orgIds.length} orgs`,
      value: rows / seconds,
      unit: "rows/s",
      note: `${invocations} invocations (the last found nothing more), ${after.archives - before.archives} archives, ${seconds.toFixed(1)} s in the handler; at most 100,000 rows, 50 orgs and 15 s per invocation`,
    },
    {
      name: "retention prune: Worker heap growth",
      value: heapGrowth ?? memory.rss_peak_mb - memory.rss_before_mb,
      unit: heapGrowth === null ? "MB (RSS)" : "MB",
      target: { max_value: 48 },
      note: `heap ${memory.heap_before_mb} → ${memory.heap_peak_mb} MB, workerd RSS ${memory.rss_before_mb} → ${memory.rss_peak_mb} MB, ${memory.samples} samples`,
    },
  ];
}
