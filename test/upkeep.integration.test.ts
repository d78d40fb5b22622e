// The upkeep of the five-minute cron (src/ops/upkeep.ts), driven through the Worker's scheduled
// handler against the real D1 and R2. Expired rows are planted with past expiry times: the cron
// never deletes what the real clock still counts as live, whatever time its controller names.
import { exports } from "cloudflare:workers";
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, appendBatch, appendRecord, createTenant, type Credentials, recordBody, sql } from "./helpers";
import { runCron } from "./security-helpers";

const DAY_MS = 24 * 60 * 60 * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Plants `n` idempotency keys of `orgId` expiring at `expiresAt`, in statements of 5,000 (one bound JSON array each). */
async function plantKeys(orgId: string, n: number, expiresAt: string, prefix = "k") {
  for (let from = 0; from < n; from += 5000) {
    const keys = Array.from({ length: Math.min(5000, n - from) }, (_, i) => `${prefix}${from + i}`);
    await sql(
      "INSERT INTO idempotency_keys (organization_id, key, request_hash, seq_from, seq_to, created_at, expires_at) " +
        "SELECT ?1, value, 'h', 1, 1, ?2, ?2 FROM json_each(?3)",
      orgId,
      expiresAt,
      JSON.stringify(keys),
    );
  }
}

const keysOf = async (orgId: string) =>
  (await env.DB.prepare("SELECT key FROM idempotency_keys WHERE organization_id = ? ORDER BY key").bind(orgId).all<{ key: string }>()).results.map((r) => r.key);

const countKeys = async (orgId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE organization_id = ?").bind(orgId).first<{ n: number }>())!.n;

/** The rows the planner's statistics say idempotency_keys holds (sqlite_stat1), or null without statistics. */
async function statisticsRows() {
  const row = await env.DB.prepare("SELECT stat FROM sqlite_stat1 WHERE tbl = 'idempotency_keys' AND idx = 'idempotency_keys_expires_idx'").first<{ stat: string }>();
  return row ? Number(row.stat.split(" ")[0]) : null;
}

describe("upkeep: idempotency keys", () => {
  it("sweeps the expired keys of every organization, also those that never write again, and keeps live ones", async () => {
    const [writer, silent] = await Promise.all([createTenant(), createTenant()]);
    const body = recordBody();
    const append = await appendRecord(writer.ingest.as, body, { "Idempotency-Key": "live-key" });
    expect(append.status).toBe(201);
    await plantKeys(silent.org.id, 3, iso(Date.now() - 60_000), "expired-");
    await plantKeys(silent.org.id, 1, iso(Date.now() + DAY_MS), "live-");
    await plantKeys(writer.org.id, 2, iso(Date.now() - DAY_MS), "old-");

    await runCron(Date.now());
    expect(await keysOf(silent.org.id)).toEqual(["live-0"]);
    expect(await keysOf(writer.org.id)).toEqual(["live-key"]);
    // The live key still answers its retry.
    const retry = await appendRecord(writer.ingest.as, body, { "Idempotency-Key": "live-key" });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
  });

  it("a controller that names a time ahead of the clock deletes nothing that is still live", async () => {
    const t = await createTenant();
    await plantKeys(t.org.id, 2, iso(Date.now() + 60 * 60_000), "soon-");
    await runCron(Date.now() + 2 * DAY_MS);
    expect(await keysOf(t.org.id)).toEqual(["soon-0", "soon-1"]);
  });

  it("deletes at most 5,000 rows a table per run, in chunks, and then refreshes the planner's statistics", async () => {
    const t = await createTenant();
    await plantKeys(t.org.id, 12_000, "2000-01-01T00:00:00.000Z");
    // Statistics as they stood before the sweep: the table held at least the planted rows.
    await sql("ANALYZE idempotency_keys");
    expect(await statisticsRows()).toBeGreaterThanOrEqual(12_000);

    await runCron(Date.now());
    expect(await countKeys(t.org.id)).toBe(7000);
    await runCron(Date.now());
    expect(await countKeys(t.org.id)).toBe(2000);
    await runCron(Date.now());
    expect(await countKeys(t.org.id)).toBe(0);
    // PRAGMA optimize re-analyzed the table once it had shrunk tenfold: no stale 12,000-row estimate.
    const rows = await statisticsRows();
    expect(rows === null || rows < 1200).toBe(true);
  });
});

describe("upkeep: sessions", () => {
  it("deletes expired sessions and keeps the live ones", async () => {
    const t = await createTenant();
    const plant = (idHash: string, expiresAt: string) =>
      sql("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, 'csrf', ?, ?)", idHash, t.member.user.id, iso(Date.now() - DAY_MS), expiresAt);
    const [expired, live] = [crypto.randomUUID(), crypto.randomUUID()];
    await plant(expired, iso(Date.now() - 1000));
    await plant(live, iso(Date.now() + 60 * 60_000));

    await runCron(Date.now());
    const left = await env.DB.prepare("SELECT id_hash FROM sessions WHERE user_id = ?").bind(t.member.user.id).all<{ id_hash: string }>();
    expect(left.results.map((r) => r.id_hash)).toEqual([live]);
  });
});

/** Starts an export of the tenant's log and runs its alarms until it is complete. */
async function completedExport(as: Credentials, query = "") {
  const started = await api("/api/v1/audit/exports", { method: "POST", as, body: { format: "jsonl" } });
  expect(started.status).toBe(202);
  const id: string = started.json.id;
  const stub = env.EXPORT_RUNNER.get(env.EXPORT_RUNNER.idFromName(id));
  for (let i = 0; i < 20; i++) {
    const res = await api(`/api/v1/audit/exports/${id}${query}`, { as });
    if (res.json.status === "complete") return res.json;
    await runDurableObjectAlarm(stub);
  }
  throw new Error("export did not finish");
}

const download = (url: string) => exports.default.fetch(new Request(url));
const exportRow = (id: string) => env.DB.prepare("SELECT * FROM exports WHERE id = ?").bind(id).first<Record<string, any>>();

describe("upkeep: export files", () => {
  it("deletes a complete export's file after its 30-day life; its download answers 410, a younger one still downloads", async () => {
    const t = await createTenant();
    expect((await appendBatch(t.ingest.as, [recordBody(), recordBody()])).status).toBe(201);
    const old = await completedExport(t.admin.as);
    const young = await completedExport(t.admin.as);
    const oldLink = old.download_url;
    expect((await download(oldLink)).status).toBe(200);

    // Aged in place: finished 31 and 29 days ago.
    const oldDone = Date.now() - 31 * DAY_MS;
    const youngDone = Date.now() - 29 * DAY_MS;
    await sql("UPDATE exports SET completed_at = ? WHERE id = ?", iso(oldDone), old.id);
    await sql("UPDATE exports SET completed_at = ? WHERE id = ?", iso(youngDone), young.id);
    const oldKey = (await exportRow(old.id))!.r2_key;
    expect(await env.ARCHIVE.head(oldKey)).not.toBeNull();

    await runCron(Date.now());
    expect(await env.ARCHIVE.head(oldKey)).toBeNull();
    const row = (await exportRow(old.id))!;
    expect(row.status).toBe("complete");
    expect(Date.parse(row.expired_at)).toBeGreaterThan(Date.now() - 60_000);

    const gone = await download(oldLink);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as any).error.code).toBe("export_expired");
    const described = (await api(`/api/v1/audit/exports/${old.id}`, { as: t.admin.as })).json;
    expect(described).toMatchObject({ status: "complete", download_url: null, download_expires_at: null, expires_at: iso(oldDone + 30 * DAY_MS) });

    // The younger one is kept, and a 7-day link to it ends with its life, tomorrow.
    const younger = (await api(`/api/v1/audit/exports/${young.id}?expires_in=604800`, { as: t.admin.as })).json;
    expect(younger.expires_at).toBe(iso(youngDone + 30 * DAY_MS));
    expect(younger.download_expires_at).toBe(iso(Math.floor((youngDone + 30 * DAY_MS) / 1000) * 1000));
    const res = await download(younger.download_url);
    expect(res.status).toBe(200);
    // The two rows, and the first export's own audit record.
    expect((await res.text()).split("\n").filter(Boolean)).toHaveLength(3);
  });
});
