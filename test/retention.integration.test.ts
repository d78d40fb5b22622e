import { createExecutionContext, createScheduledController, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sealAfter } from "../src/audit/chain/seal";
import { insertRowStatements, readHead } from "../src/audit/chain/store";
import { ChainWalker } from "../src/audit/chain/walker";
import { keyringHasher } from "../src/audit/chain/seal-check";
import { type AuditRecord } from "../src/audit/chain/record";
import { toStoredRow } from "../src/audit/chain/stored-row";
import { importStatement } from "../src/audit/chain/legacy-import";
import { loadAuditKeyring } from "../src/crypto/keys";
import { database } from "../src/db/client";
import type { Env } from "../src/env";
import worker from "../src/index";
import { continueRetentionPass } from "../src/ops/scheduled-retention";
import { continueValidationPass } from "../src/ops/scheduled-validation";
import { api, appendBatch, chainRows, createTenant, getSuperAdmin, hmacHex, recordBody, sha256Hex, sql, validate } from "./helpers";
import { sameHash } from "../src/crypto/merkle/hash";
import { checkedTreeHead, jsonLinesOf, rootOfRecords } from "./tree-helpers";

const DAY_MS = 24 * 60 * 60 * 1000;
const enforcing = { ...env, ENFORCE_ORG_QUOTAS: "true" } as Env;

/** Organization ids in a block of their own, ascending, so a seeded pass meets them first. */
function blockIds(n: number) {
  const run = crypto.randomUUID().slice(0, 6);
  return Array.from({ length: n }, (_, i) => `ffffffff-ffff-4fff-bfff-fd${run}${i.toString(16).padStart(4, "0")}`);
}

/** A record of `orgId` as a platform sends it, dated `at`, before the chain object seals it. */
const pendingAt = (orgId: string, at: string, overrides: Record<string, unknown> = {}) => ({
  ...recordBody(overrides),
  id: crypto.randomUUID(),
  organization_id: orgId,
  site_id: null,
  previous_state: null,
  new_state: null,
  timestamp: at,
});

type Pending = Parameters<typeof sealAfter>[4][0][0];

/**
 * Rows sealed as the chain object seals them but recorded `days` ago, one per entry, inserted
 * straight into D1 before anything else is appended: a chain that has aged.
 */
async function seedAgedRows(orgId: string, ages: number[]) {
  const keyring = await loadAuditKeyring(env);
  let head = await readHead(database(env.DB), orgId);
  for (const days of ages) {
    const at = new Date(Date.now() - days * DAY_MS).toISOString();
    const sealed = await sealAfter(head, keyring.current, orgId, at, [[pendingAt(orgId, at, { metadata: { days } }) as Pending]]);
    await env.DB.batch(insertRowStatements(env.DB, sealed.rows));
    head = sealed.head;
  }
}

/** A chainproof import record of `n` legacy rows, sealed `days` ago like the import route seals it, with its rows. */
async function seedAgedImport(orgId: string, days: number, n: number) {
  const at = new Date(Date.now() - days * DAY_MS).toISOString();
  const legacy = Array.from({ length: n }, (_, i) => ({
    ...pendingAt(orgId, at, { metadata: { legacy: i } }),
    seq: null,
    recorded_at: at,
    key_id: null,
    prev_hash: null,
    row_hmac: null,
  })) as AuditRecord[];
  const keyring = await loadAuditKeyring(env);
  const importRecord = pendingAt(orgId, at, {
    action: "import",
    resource_type: "audit_log",
    resource_id: null,
    changes: null,
    metadata: { source: "chainproof", via: "basic", role: "super_admin", ...(await importStatement(legacy)) },
  });
  const sealed = await sealAfter(await readHead(database(env.DB), orgId), keyring.current, orgId, at, [[importRecord as Pending]]);
  await env.DB.batch([...insertRowStatements(env.DB, sealed.rows), ...insertRowStatements(env.DB, legacy.map(toStoredRow))]);
  return legacy;
}

// Four rows each 400, 100, 40 and 10 days old: each tier keeps a different part of them.
const AGES = [400, 400, 400, 400, 100, 100, 100, 100, 40, 40, 40, 40, 10, 10, 10, 10];

async function agedTenant(id: string, tier: string | null) {
  const tenant = await createTenant(tier ?? "FREE", id);
  if (tier === null) await sql("UPDATE organizations SET settings = '{}' WHERE id = ?", id);
  await seedAgedRows(id, AGES);
  expect((await appendBatch(tenant.ingest.as, [recordBody(), recordBody(), recordBody()])).status).toBe(201);
  return tenant;
}

const seedPass = (firstOrgId: string, passStartedAt = Date.now()) =>
  sql(
    "INSERT OR REPLACE INTO scheduled_cursors (job, pass_started_at, next_org_id, next_start_id, next_kind, finished_at, updated_at) VALUES ('retention', ?1, ?2, NULL, NULL, NULL, ?1)",
    new Date(passStartedAt).toISOString(),
    firstOrgId,
  );

const passFinished = async () =>
  (await env.DB.prepare("SELECT finished_at FROM scheduled_cursors WHERE job = 'retention'").first<{ finished_at: string | null }>())?.finished_at != null;

/** The five-minute cron as the Worker runs it, with `bindings`. */
async function fiveMinuteCron(bindings: Env = enforcing) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: Date.now() }), bindings, ctx);
  await waitOnExecutionContext(ctx);
}

/** A retention pass from `firstOrgId` on, run by the five-minute cron until done; returns the invocations it took. */
async function runPass(firstOrgId: string) {
  await seedPass(firstOrgId);
  let invocations = 0;
  while (!(await passFinished()) && invocations < 30) {
    await fiveMinuteCron();
    invocations++;
  }
  expect(await passFinished()).toBe(true);
  return invocations;
}

const firstLiveSeq = async (orgId: string) => (await chainRows(orgId))[0]?.seq;

async function gunzipLines(bytes: ArrayBuffer) {
  const text = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  return text.trimEnd().split("\n").map((line) => JSON.parse(line) as AuditRecord);
}

const recordOf = (row: Record<string, any>): AuditRecord => ({
  id: row.id,
  organization_id: row.organization_id,
  seq: row.seq,
  site_id: row.site_id,
  actor_id: row.actor_id,
  action: row.action,
  resource_type: row.resource_type,
  resource_id: row.resource_id,
  status: row.status,
  ip_address: row.ip_address,
  user_agent: row.user_agent,
  changes: row.changes === null ? null : JSON.parse(row.changes),
  previous_state: row.previous_state === null ? null : JSON.parse(row.previous_state),
  new_state: row.new_state === null ? null : JSON.parse(row.new_state),
  metadata: JSON.parse(row.metadata),
  timestamp: row.timestamp,
  recorded_at: row.recorded_at,
  key_id: row.key_id,
  prev_hash: row.prev_hash,
  row_hmac: row.row_hmac,
});

describe("retention", () => {
  it("prunes each tier's old prefix behind a signed anchor, archives it, audits it, and the chain still validates", async () => {
    const ids = blockIds(7);
    const tiers: [string | null, number][] = [
      ["FREE", 16],
      ["STARTER", 12],
      ["PROFESSIONAL", 8],
      ["ENTERPRISE", 4],
      ["UNLIMITED", 0],
      ["GOLD", 16], // not a tier: FREE
      [null, 16], // no tier at all: FREE
    ];
    const tenants = [];
    for (const [i, [tier]] of tiers.entries()) tenants.push(await agedTenant(ids[i]!, tier));
    const sa = (await getSuperAdmin()).as;

    await runPass(ids[0]!);

    for (const [i, [, through]] of tiers.entries()) {
      const orgId = ids[i]!;
      const rows = await chainRows(orgId);
      if (through === 0) {
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 19 }, (_, k) => k + 1));
        expect((await api(`/api/v1/audit/archives?organization_id=${orgId}`, { as: sa })).json.items).toEqual([]);
        continue;
      }
      // Rows through `through` are gone; the prune itself is the newest record.
      expect(rows[0]!.seq).toBe(through + 1);
      expect(rows.at(-1)).toMatchObject({ seq: 20, action: "retention_prune" });
      expect(JSON.parse(rows.at(-1)!.metadata)).toMatchObject({ source: "chainproof", via: "scheduler", seq_from: 1, seq_to: through, pruned_count: through });

      const check = await validate({ organization_id: orgId, limit: 100 });
      expect(check.status, check.text).toBe(200);
      expect(check.json).toMatchObject({ valid: true, broken_at: null, checked: 20 - through, pruned: through, pruned_through_seq: through, rows_held: 20 });
    }

    // The FREE organization's archive, as its org_admin lists and downloads it.
    const free = tenants[0]!;
    const listed = await api("/api/v1/audit/archives", { as: free.admin.as });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.items).toHaveLength(1);
    const item = listed.json.items[0];
    expect(item).toMatchObject({ organization_id: ids[0], seq_from: 1, seq_to: 16, count: 16, first_prev_hash: null });
    expect(item.anchor).toMatchObject({ type: "chainproof.anchor.v1", organization_id: ids[0], pruned_through_seq: 16, row_hmac: item.last_row_hmac, pruned_count: 16, archive_sha256: item.sha256 });
    const { anchor_hmac, ...anchorFields } = item.anchor;
    const sorted = Object.fromEntries(Object.entries(anchorFields).sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(anchor_hmac).toBe(await hmacHex("test-audit-key-current", JSON.stringify(sorted)));

    const download = await exports.default.fetch(new Request(item.download_url));
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/gzip");
    const bytes = await download.arrayBuffer();
    expect(bytes.byteLength).toBe(item.bytes);
    expect(await sha256Hex(bytes)).toBe(item.sha256);

    // Archive + live chain verify as one chain, from genesis to the head.
    const archived = await gunzipLines(bytes);
    expect(archived.map((r) => r.seq)).toEqual(Array.from({ length: 16 }, (_, k) => k + 1));
    const walker = new ChainWalker({ organizationId: ids[0]!, seq: 1, prevHash: null }, keyringHasher(await loadAuditKeyring(env)));
    const live = (await chainRows(ids[0]!)).map(recordOf);
    for (const record of [...archived, ...live]) expect(await walker.push(record)).toBeNull();
    expect(walker.checked).toBe(16 + live.length);

    // A member may not list archives; another tenant's archives are a 404.
    expect((await api("/api/v1/audit/archives", { as: free.member.as })).status).toBe(403);
    expect((await api(`/api/v1/audit/archives?organization_id=${ids[0]}`, { as: tenants[1]!.admin.as })).status).toBe(404);
    // A link for another archive id, or an altered one, is refused.
    expect((await exports.default.fetch(new Request(item.download_url.replace(/sig=[^&]+/, "sig=AAAA")))).status).toBe(403);

    // The prune was signed as a checkpoint of the last pruned row.
    const checkpoints = await api(`/api/v1/audit/checkpoints?organization_id=${ids[0]}`, { as: sa });
    expect(checkpoints.json.items.filter((c: any) => c.kind === "prune")).toEqual([expect.objectContaining({ seq: 16, row_hmac: item.last_row_hmac })]);

    // The compliance report states the pruning: what is kept, and how much went to the archives.
    const kept = await chainRows(ids[0]!);
    const report = await api(`/api/v1/organizations/${ids[0]}/compliance-report`, { as: free.admin.as });
    expect(report.status, report.text).toBe(200);
    expect(report.json.report.audit_log).toMatchObject({
      oldest_entry_at: kept[0]!.recorded_at,
      entry_count: kept.length,
      first_seq: 17,
      pruned_count: 16,
      pruned_through_seq: 16,
      retention_enforced: false,
    });

    // A second pass finds nothing more to prune: no second archive, no second record.
    await runPass(ids[0]!);
    expect((await api("/api/v1/audit/archives", { as: free.admin.as })).json.items).toHaveLength(1);
    expect((await chainRows(ids[0]!)).filter((r) => r.action === "retention_prune")).toHaveLength(1);
  }, 120_000);

  it("archives, and an export after them, carry a signed tree head and the compact range before their first row", async () => {
    const [id] = blockIds(1) as [string];
    const tenant = await agedTenant(id, "STARTER");
    await runPass(id);
    await sql("UPDATE organizations SET settings = ? WHERE id = ?", JSON.stringify({ tier: "FREE" }), id);
    await runPass(id);

    const items = (await api("/api/v1/audit/archives", { as: tenant.admin.as })).json.items;
    expect(items.map((a: any) => [a.seq_from, a.seq_to, a.compact_range?.tree_size ?? null, a.compact_range?.hashes.length ?? null])).toEqual([
      [13, 16, 12, 2],
      [1, 12, null, null],
    ]);
    for (const archive of items) {
      const head = await checkedTreeHead(archive.tree_head);
      expect(head).toMatchObject({ organizationId: id, size: archive.seq_to });
      const lines = await gunzipLines(await (await exports.default.fetch(new Request(archive.download_url))).arrayBuffer());
      const rebuilt = await rootOfRecords(archive.compact_range, lines);
      expect(rebuilt.size).toBe(archive.seq_to);
      expect(sameHash(rebuilt.root, head.root)).toBe(true);
      // The manifest beside the archive in R2 carries the same.
      const manifest = (await (await env.ARCHIVE.get(`archives/${id}/${archive.seq_from}-${archive.seq_to}.manifest.json`))!.json()) as Record<string, unknown>;
      expect(manifest).toMatchObject({ seq_from: archive.seq_from, tree_head: archive.tree_head, compact_range: archive.compact_range });
    }

    // The live rows 17… exported: checked on top of the compact range of the 16 pruned leaves.
    const started = await api("/api/v1/audit/exports", { method: "POST", as: tenant.admin.as, body: { format: "jsonl" } });
    const runner = env.EXPORT_RUNNER.get(env.EXPORT_RUNNER.idFromName(started.json.id));
    let job = (await api(`/api/v1/audit/exports/${started.json.id}`, { as: tenant.admin.as })).json;
    for (let i = 0; i < 10 && job.status !== "complete"; i++) {
      await runDurableObjectAlarm(runner);
      job = (await api(`/api/v1/audit/exports/${started.json.id}`, { as: tenant.admin.as })).json;
    }
    expect(job).toMatchObject({ status: "complete", row_count: 5, compact_range: { tree_size: 16, hashes: [expect.stringMatching(/^[0-9a-f]{64}$/)] } });
    const head = await checkedTreeHead(job.tree_head);
    expect(head.size).toBe(21);
    const lines = jsonLinesOf(new TextDecoder().decode(await (await exports.default.fetch(new Request(job.download_url))).arrayBuffer()));
    expect(lines.map((r) => r.seq)).toEqual([17, 18, 19, 20, 21]);
    const rebuilt = await rootOfRecords(job.compact_range, lines);
    expect(sameHash(rebuilt.root, head.root)).toBe(true);
  }, 120_000);

  it("takes the legacy rows an old import record covers along with it, and the chain stays accounted for", async () => {
    const [id] = blockIds(1) as [string];
    const tenant = await createTenant("FREE", id);
    await seedAgedRows(id, [30, 30]);
    const legacy = await seedAgedImport(id, 30, 3);
    await seedAgedRows(id, [2]);
    expect((await appendBatch(tenant.ingest.as, [recordBody()])).status).toBe(201);
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: true, unchained: 3, rows_held: 8 });

    await runPass(id);
    const [archive] = (await api("/api/v1/audit/archives", { as: tenant.admin.as })).json.items;
    expect(archive).toMatchObject({ seq_from: 1, seq_to: 3, count: 6 });
    expect(archive.anchor.pruned_count).toBe(6);
    const lines = await gunzipLines(await (await exports.default.fetch(new Request(archive.download_url))).arrayBuffer());
    expect(lines.map((r) => r.seq)).toEqual([1, 2, 3, null, null, null]);
    expect(lines.slice(3).map((r) => r.id)).toEqual(legacy.map((r) => r.id));
    const left = await env.DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE organization_id = ? AND seq IS NULL").bind(id).first<{ n: number }>();
    expect(left!.n).toBe(0);
    // seq 4 (2 days old), the append, chain_validate, retention_prune live on; 6 rows are in the archive.
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: true, unchained: 0, checked: 4, pruned: 6, rows_held: 10 });
  }, 60_000);

  it("prunes security events and their alerts by when they were stored, as the log; the client's timestamp does not count", async () => {
    const [id] = blockIds(1) as [string];
    const tenant = await createTenant("STARTER", id);
    const post = async (description: string, timestamp: string, storedDaysAgo: number | null) => {
      const res = await api("/api/v1/audit/security-events", {
        method: "POST",
        as: tenant.ingest.as,
        body: { event_type: "suspicious_ip", risk_score: 90, description, timestamp },
      });
      expect(res.status).toBe(201);
      // Stored that long ago: the pass runs now.
      // (null: stored by the code before migration 0017 while it was deployed)
      const recordedAt = storedDaysAgo === null ? null : new Date(Date.now() - storedDaysAgo * DAY_MS).toISOString();
      await env.DB.prepare("UPDATE security_events SET recorded_at = ? WHERE id = ?").bind(recordedAt, res.json.id).run();
    };
    await post("stored 45 days ago", new Date(Date.now() - 45 * DAY_MS).toISOString(), 45);
    await post("stored 45 days ago, dated ahead", new Date(Date.now() + 23 * 3_600_000).toISOString(), 45);
    await post("stored 5 days ago, dated 1970", "1970-01-01T00:00:00Z", 5);
    await post("stored during the deploy, dated 45 days ago", new Date(Date.now() - 45 * DAY_MS).toISOString(), null);
    await post("stored during the deploy, dated 5 days ago", new Date(Date.now() - 5 * DAY_MS).toISOString(), null);
    await runPass(id);
    const events = (await env.DB.prepare("SELECT description FROM security_events WHERE organization_id = ?").bind(id).all<{ description: string }>()).results;
    expect(events.map((e) => e.description).sort()).toEqual(["stored 5 days ago, dated 1970", "stored during the deploy, dated 5 days ago"]);
    const alerts = await env.DB.prepare("SELECT count(*) AS n FROM alerts WHERE organization_id = ?").bind(id).first<{ n: number }>();
    expect(alerts!.n).toBe(2);
    const archived = await env.ARCHIVE.list({ prefix: `archives/${id}/security-events/` });
    expect(archived.objects).toHaveLength(1);
    const lines = (await gunzipLines(await (await env.ARCHIVE.get(archived.objects[0]!.key))!.arrayBuffer())) as unknown as { description: string }[];
    expect(lines.map((l) => l.description).sort()).toEqual(["stored 45 days ago", "stored 45 days ago, dated ahead", "stored during the deploy, dated 45 days ago"]);
    for (const line of lines) expect(line).toEqual(expect.objectContaining({ alert: expect.objectContaining({ organizationId: id }) }));
  });

  it("a pass scheduled ahead of the clock prunes everything recorded before it ran, never its own records", async () => {
    const [id] = blockIds(1) as [string];
    await agedTenant(id, "FREE");
    await seedPass(id, Date.now() + 400 * DAY_MS);
    await continueRetentionPass(enforcing, { db: database(env.DB), env: enforcing }, { rows: 10_000, organizations: 1, wallMs: 30_000 });
    const rows = await chainRows(id);
    expect(rows.map((r) => [r.seq, r.action])).toEqual([[20, "retention_prune"]]);
    expect((await env.ARCHIVE.list({ prefix: `archives/${id}/` })).objects.map((o) => o.key).sort()).toEqual([
      `archives/${id}/1-19.jsonl.gz`,
      `archives/${id}/1-19.manifest.json`,
    ]);
    await sql("UPDATE scheduled_cursors SET finished_at = ?1, next_org_id = NULL WHERE job = 'retention'", new Date().toISOString());
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: true, pruned: 19, checked: 1 });
  }, 60_000);

  it("prunes nothing when ENFORCE_ORG_QUOTAS is not true", async () => {
    const [id] = blockIds(1) as [string];
    await agedTenant(id, "FREE");
    await seedPass(id);
    await fiveMinuteCron(env as Env);
    expect(await firstLiveSeq(id)).toBe(1);
    expect((await chainRows(id)).length).toBe(19);
    expect((await env.ARCHIVE.list({ prefix: `archives/${id}/` })).objects).toEqual([]);
  });

  it("detects an edited anchor, a deleted anchor and a row planted behind the anchor", async () => {
    const [id] = blockIds(1) as [string];
    await agedTenant(id, "FREE");
    await runPass(id);
    expect((await validate({ organization_id: id })).json.valid).toBe(true);

    await sql("UPDATE prune_anchors SET pruned_count = pruned_count + 1 WHERE organization_id = ?", id);
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: false, broken_reason: "anchor mismatch", broken_seq: 16 });
    await sql("UPDATE prune_anchors SET pruned_count = pruned_count - 1 WHERE organization_id = ?", id);
    expect((await validate({ organization_id: id })).json.valid).toBe(true);

    const [anchor] = (await env.DB.prepare("SELECT * FROM prune_anchors WHERE organization_id = ?").bind(id).all<Record<string, any>>()).results;
    await sql("DELETE FROM prune_anchors WHERE organization_id = ?", id);
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: false, broken_reason: "seq gap" });
    await env.DB.prepare(`INSERT INTO prune_anchors (${Object.keys(anchor!).join(", ")}) VALUES (${Object.keys(anchor!).map(() => "?").join(", ")})`)
      .bind(...Object.values(anchor!))
      .run();

    const [live] = await chainRows(id);
    await sql(
      "INSERT INTO audit_logs SELECT ?, organization_id, 3, site_id, actor_id, action, resource_type, resource_id, status, ip_address, user_agent, changes, previous_state, new_state, metadata, timestamp, recorded_at, key_id, prev_hash, row_hmac FROM audit_logs WHERE id = ?",
      crypto.randomUUID(),
      live!.id,
    );
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: false, broken_reason: "row behind prune anchor", broken_seq: 3 });
  });

  it("resumes a prune cut short after archiving, without loss or a second archive", async () => {
    const [id] = blockIds(1) as [string];
    await agedTenant(id, "FREE");
    const before = await chainRows(id);
    // D1 refuses the transaction that stores the anchor and deletes the rows: the archive is in R2, nothing is deleted.
    const failingDb = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return () => Promise.reject(new Error("simulated D1 outage"));
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await seedPass(id);
    await continueRetentionPass({ ...enforcing, DB: failingDb }, { db: database(failingDb), env: { ...enforcing, DB: failingDb } }, { rows: 1000, organizations: 1, wallMs: 10_000 });
    expect(await chainRows(id)).toEqual(before);
    const state = await env.DB.prepare("SELECT state, seq_from, seq_to FROM audit_archives WHERE organization_id = ?").bind(id).all();
    expect(state.results).toEqual([{ state: "archived", seq_from: 1, seq_to: 16 }]);
    expect((await env.ARCHIVE.list({ prefix: `archives/${id}/` })).objects.map((o) => o.key).sort()).toEqual([
      `archives/${id}/1-16.jsonl.gz`,
      `archives/${id}/1-16.manifest.json`,
    ]);

    await runPass(id);
    const after = await chainRows(id);
    expect(after.map((r) => r.seq)).toEqual([17, 18, 19, 20]);
    expect(after.slice(0, 3)).toEqual(before.slice(16));
    expect(after.filter((r) => r.action === "retention_prune")).toHaveLength(1);
    expect((await env.DB.prepare("SELECT state FROM audit_archives WHERE organization_id = ?").bind(id).all()).results).toEqual([{ state: "complete" }]);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM prune_anchors WHERE organization_id = ?").bind(id).first<{ n: number }>())!.n).toBe(1);
    expect((await env.ARCHIVE.list({ prefix: `archives/${id}/` })).objects).toHaveLength(2);
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: true, pruned: 16, rows_held: 20 });
  }, 60_000);

  it("resumes a prune cut short while writing to R2, with the same objects and nothing deleted twice", async () => {
    const [id] = blockIds(1) as [string];
    await agedTenant(id, "FREE");
    // R2 fails on the manifest, after the archive object itself was written.
    const failingBucket = new Proxy(env.ARCHIVE, {
      get(target, prop) {
        if (prop === "put") {
          return (key: string, ...rest: unknown[]) =>
            key.endsWith(".manifest.json") ? Promise.reject(new Error("simulated R2 outage")) : (target.put as (...a: unknown[]) => unknown)(key, ...rest);
        }
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const broken = { ...enforcing, ARCHIVE: failingBucket } as Env;
    await seedPass(id);
    await continueRetentionPass(broken, { db: database(env.DB), env: broken }, { rows: 1000, organizations: 1, wallMs: 10_000 });
    expect((await env.DB.prepare("SELECT state FROM audit_archives WHERE organization_id = ?").bind(id).all()).results).toEqual([{ state: "pending" }]);
    expect((await env.ARCHIVE.list({ prefix: `archives/${id}/` })).objects.map((o) => o.key)).toEqual([`archives/${id}/1-16.jsonl.gz`]);
    expect(await firstLiveSeq(id)).toBe(1);

    await runPass(id);
    expect((await env.ARCHIVE.list({ prefix: `archives/${id}/` })).objects).toHaveLength(2);
    expect((await chainRows(id)).map((r) => r.seq)).toEqual([17, 18, 19, 20]);
    expect((await validate({ organization_id: id })).json).toMatchObject({ valid: true, pruned: 16 });
  }, 60_000);

  it("the weekly full validation checks every archive against its anchor, byte for byte", async () => {
    const [id] = blockIds(1) as [string];
    await agedTenant(id, "FREE");
    await runPass(id);
    // One organization's validation, as the pass does it; a Sunday makes it a full one.
    const validateOnce = async () => {
      const sunday = new Date();
      sunday.setUTCDate(sunday.getUTCDate() - sunday.getUTCDay());
      await sql(
        "INSERT OR REPLACE INTO scheduled_cursors (job, pass_started_at, next_org_id, next_start_id, next_kind, finished_at, updated_at) VALUES ('validation', ?1, ?2, NULL, NULL, NULL, ?1)",
        sunday.toISOString(),
        id,
      );
      await continueValidationPass(env, { db: database(env.DB), env }, { rows: 10_000, organizations: 1, wallMs: 60_000 });
      await sql("UPDATE scheduled_cursors SET finished_at = ?1, next_org_id = NULL WHERE job = 'validation'", new Date().toISOString());
      const run = await env.DB.prepare("SELECT kind, result FROM validation_runs WHERE organization_id = ? ORDER BY started_at DESC, rowid DESC LIMIT 1").bind(id).first<{ kind: string; result: string }>();
      return { kind: run!.kind, ...JSON.parse(run!.result) };
    };
    expect(await validateOnce()).toMatchObject({ kind: "full", valid: true, pruned: 16 });

    const key = `archives/${id}/1-16.jsonl.gz`;
    const bytes = new Uint8Array(await (await env.ARCHIVE.get(key))!.arrayBuffer());
    bytes[bytes.length - 12]! ^= 0x01;
    await env.ARCHIVE.put(key, bytes);
    expect(await validateOnce()).toMatchObject({ kind: "full", valid: false, broken_reason: "archive mismatch", broken_seq: 16 });
    await env.ARCHIVE.delete(key);
    expect(await validateOnce()).toMatchObject({ valid: false, broken_reason: "archive missing" });
    const alarms = await env.DB.prepare("SELECT count(*) AS n FROM security_events WHERE organization_id = ? AND event_type = 'chain_integrity_failure'").bind(id).first<{ n: number }>();
    expect(alarms!.n).toBe(2);
  }, 60_000);

  it("never prunes a chain that does not verify, and raises the alarm", async () => {
    const [id] = blockIds(1) as [string];
    await agedTenant(id, "FREE");
    await sql("UPDATE audit_logs SET action = 'delete' WHERE organization_id = ? AND seq = 5", id);
    await runPass(id);
    expect(await firstLiveSeq(id)).toBe(1);
    expect((await env.ARCHIVE.list({ prefix: `archives/${id}/` })).objects).toEqual([]);
    const events = (await env.DB.prepare("SELECT event_type, risk_score, description FROM security_events WHERE organization_id = ?").bind(id).all()).results;
    expect(events).toEqual([{ event_type: "chain_integrity_failure", risk_score: 100, description: "Retention halted: the audit chain does not verify at seq 5: row_hmac mismatch" }]);
  });

  it("covers 200 organizations over bounded invocations", async () => {
    const ids = blockIds(200);
    const now = new Date().toISOString();
    await env.DB.batch(ids.map((id, i) => env.DB.prepare("INSERT INTO organizations (id, name, settings, created_at) VALUES (?, ?, '{}', ?)").bind(id, `bulk-${i}`, now)));
    for (const id of ids) await seedAgedRows(id, [20, 20]);
    await seedPass(ids[0]!);
    await fiveMinuteCron();
    const prunedAfterOne = (await env.DB.prepare(`SELECT count(*) AS n FROM prune_anchors WHERE organization_id >= ? AND organization_id <= ?`).bind(ids[0], ids.at(-1)).first<{ n: number }>())!.n;
    expect(prunedAfterOne).toBeGreaterThan(0);
    expect(prunedAfterOne).toBeLessThanOrEqual(50);
    expect(await passFinished()).toBe(false);

    let invocations = 1;
    while (!(await passFinished()) && invocations < 30) {
      await fiveMinuteCron();
      invocations++;
    }
    expect(invocations).toBeGreaterThanOrEqual(4);
    const pruned = await env.DB.prepare(`SELECT count(*) AS n FROM prune_anchors WHERE organization_id >= ? AND organization_id <= ?`).bind(ids[0], ids.at(-1)).first<{ n: number }>();
    expect(pruned!.n).toBe(200);
  }, 300_000);
});
