// Scheduled validation as the platform runs it: the daily cron starts a pass over every
// organization, and five-minute invocations continue it from its cursor, each within its bounds
// (src/ops/scheduled-validation.ts). `wrangler dev` runs the handler on
// GET /cdn-cgi/local/scheduled?cron=…, answering once the handler is done.
import type { Figure } from "./report";
import type { Credentials } from "./server";

type Progress = (text: string) => void;
type Run = { organization_id: string; started_at: string; result: { checked: number; valid: boolean; next_start_id: string | null } };

const DAILY = "17 3 * * *";
const FIVE_MINUTES = "*/5 * * * *";
/** A pass that needs more invocations than this is reported as unfinished. */
const MAX_INVOCATIONS = 200;

async function trigger(base: string, cron: string) {
  const res = await fetch(`${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent(cron)}`);
  await res.text();
  if (!res.ok) throw new Error(`/cdn-cgi/local/scheduled?cron=${cron} answered ${res.status}`);
}

/** The organization's runs of the pass that started at `since`. */
async function runsSince(base: string, admin: Credentials, orgId: string, since: string): Promise<Run[]> {
  const res = await fetch(`${base}/api/v1/audit/validation-runs?organization_id=${orgId}&limit=100`, {
    headers: { Authorization: `Basic ${btoa(`${admin.username}:${admin.password}`)}` },
  });
  if (!res.ok) throw new Error(`validation-runs answered ${res.status}`);
  const { items } = (await res.json()) as { items: Run[] };
  return items.filter((run) => run.started_at >= since);
}

/** One daily pass over `orgIds` (every organization of the bench's database), to its end. */
export async function scheduledValidationFigures(base: string, admin: Credentials, orgIds: string[], progress: Progress): Promise<Figure[]> {
  const since = new Date().toISOString();
  progress(`scheduled validation: the daily cron, then five-minute invocations until every one of ${orgIds.length} orgs is walked to its head`);
  const started = performance.now();
  let invocations = 1;
  await trigger(base, DAILY);
  let busy = 0;
  const unfinished = async () => {
    const begun = performance.now();
    const pending: string[] = [];
    for (const id of orgIds) {
      const [newest] = await runsSince(base, admin, id, since);
      if (!newest || newest.result.next_start_id !== null) pending.push(id);
    }
    busy += performance.now() - begun;
    return pending;
  };
  while ((await unfinished()).length > 0 && invocations < MAX_INVOCATIONS) {
    await trigger(base, FIVE_MINUTES);
    invocations++;
  }
  const seconds = (performance.now() - started - busy) / 1000;
  const left = await unfinished();
  let rows = 0;
  let invalid = 0;
  for (const id of orgIds) {
    for (const run of await runsSince(base, admin, id, since)) {
      rows += run.result.checked;
      if (!run.result.valid) invalid++;
    }
  }
  const rowsPerS = rows / seconds;
  progress(`  ${rows.toLocaleString("en-US")} rows over ${orgIds.length} orgs in ${invocations} invocations, ${seconds.toFixed(1)} s`);
  return [
    {
      name: `scheduled validation, ${(rows / 1e6).toFixed(2)}M rows/${orgIds.length} orgs`,
      value: rowsPerS,
      unit: "rows/s",
      target: { check: { what: "every org walked to its head, all valid", ok: left.length === 0 && invalid === 0 } },
      note: `${invocations} invocations (1 daily + ${invocations - 1} five-minute), ${seconds.toFixed(1)} s in the handler${left.length ? `; ${left.length} orgs unfinished` : ""}`,
    },
    { name: "scheduled validation: invocations needed", value: invocations, unit: "invocations", note: "at most 200,000 rows, 50 orgs and 15 s per invocation" },
  ];
}
