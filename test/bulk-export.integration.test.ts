import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import worker from "../src/index";
import { insertExport } from "../src/audit/export/store";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ChainWalker } from "../src/audit/chain/walker";
import { linkSignature } from "../src/audit/export/download-links";
import { PART_SIZE } from "../src/audit/export/job";
import { keyringHasher } from "../src/audit/chain/seal-check";
import { loadAuditKeyring } from "../src/crypto/keys";
import { api, appendBatch, chainRows, createTenant, db, getSuperAdmin, recordBody, runExportToEnd, sha256Hex, type Tenant } from "./helpers";
import { sameHash } from "../src/crypto/merkle/hash";
import { verifyConsistency } from "../src/crypto/merkle/verify";
import { fromHex } from "../src/crypto/encoding";
import { signedTreeHeadOfSize } from "../src/audit/chain/tree-head-of-size";
import { checkedTreeHead, jsonLinesOf, rootOfRecords } from "./tree-helpers";

let t: Tenant;
let other: Tenant;

beforeAll(async () => {
  [t, other] = await Promise.all([createTenant(), createTenant()]);
  for (let i = 0; i < 25; i++) {
    const res = await appendBatch(t.ingest.as, Array.from({ length: 1000 }, (_, j) => recordBody({ metadata: { n: i * 1000 + j, pad: "x".repeat(500) } })));
    expect(res.status).toBe(201);
  }
}, 180_000);

/** How many rows the organization's log holds now (chained and legacy), read from D1. */
const logLength = async (orgId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE organization_id = ?").bind(orgId).first<{ n: number }>())!.n;

const chainLength = async (orgId: string) =>
  (await env.DB.prepare("SELECT max(seq) AS n FROM audit_logs WHERE organization_id = ?").bind(orgId).first<{ n: number }>())!.n;

const download = (url: string) => fetchWorker(url);
async function fetchWorker(url: string) {
  const { exports } = await import("cloudflare:workers");
  return exports.default.fetch(new Request(url));
}

describe("uncapped exports into R2", () => {
  it("the cron resumes an export whose runner stalled", async () => {
    const id = crypto.randomUUID();
    const old = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    await insertExport(db(), {
      id, organizationId: other.org.id, requestedBy: other.admin.user.id, format: "jsonl",
      filters: { organizationId: other.org.id, recordedUntil: new Date().toISOString() }, status: "pending",
      r2Key: `exports/${other.org.id}/${id}.jsonl`, createdAt: old, updatedAt: old,
    });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const done = await runExportToEnd(id, other.admin.as);
    expect(done.json).toMatchObject({ status: "complete", row_count: 0 });
  });

  it("25,000 rows: completes in parts, downloads without credentials, sha256 matches, verifies as a chain", async () => {
    // The export holds what the log held when it was asked for; its own audit record comes after.
    expect(await logLength(t.org.id)).toBe(25_000);
    const started = await api("/api/v1/audit/exports", { method: "POST", as: t.admin.as, body: { format: "jsonl" } });
    expect(started.status).toBe(202);
    expect(started.json).toEqual({ id: expect.any(String), status: "pending" });
    const done = await runExportToEnd(started.json.id, t.admin.as);
    expect(done.json).toMatchObject({ status: "complete", format: "jsonl", organization_id: t.org.id, error: null });
    expect(done.json.row_count).toBe(25_000);
    // More parts than one alarm uploads: the work resumed from its saved cursor at least once.
    expect(done.json.bytes).toBeGreaterThan(5 * PART_SIZE);
    const stored = await env.DB.prepare("SELECT parts FROM exports WHERE id = ?").bind(started.json.id).first<{ parts: string }>();
    expect(JSON.parse(stored!.parts).length).toBe(Math.ceil(done.json.bytes / PART_SIZE));

    const url = new URL(done.json.download_url);
    expect(url.pathname).toBe(`/api/v1/audit/exports/${started.json.id}/download`);
    const res = await download(done.json.download_url);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Disposition")).toContain("attachment");
    const body = await res.arrayBuffer();
    expect(body.byteLength).toBe(done.json.bytes);
    expect(await sha256Hex(body)).toBe(done.json.sha256);

    const lines = new TextDecoder().decode(body).split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(done.json.row_count);
    const walker = new ChainWalker({ organizationId: t.org.id, seq: 1, prevHash: null }, keyringHasher(await loadAuditKeyring(env)));
    for (const line of lines) expect(await walker.push(JSON.parse(line))).toBeNull();
    expect(walker.checked).toBe(lines.length);
    expect(JSON.parse(lines[0]!)).toMatchObject({ seq: 1, prev_hash: null });
    expect(JSON.parse(lines.at(-1)!).seq).toBe(25_000);
    // Every chain field is there for the offline verifier.
    expect(Object.keys(JSON.parse(lines[1]!))).toEqual([
      "id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status", "ip_address",
      "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id", "prev_hash", "row_hmac",
    ]);
    // The request itself is in the chain, right after the rows it exports.
    const requests = (await chainRows(t.org.id)).filter((r) => r.action === "export");
    expect(requests.map((r) => [r.seq, r.resource_id])).toEqual([[25_001, started.json.id]]);
  }, 180_000);

  it("CSV with filters; the link expires and cannot be altered", async () => {
    const started = await api("/api/v1/audit/exports", { method: "POST", as: other.admin.as, body: { format: "csv" } });
    expect(started.status).toBe(202);
    expect((await appendBatch(other.ingest.as, [recordBody({ action: "delete" })])).status).toBe(201);
    const filtered = await api("/api/v1/audit/exports", { method: "POST", as: other.admin.as, body: { format: "csv", actions: ["delete"] } });
    expect(filtered.status).toBe(202);
    const done = await runExportToEnd(filtered.json.id, other.admin.as);
    expect(done.json).toMatchObject({ status: "complete", row_count: 1, filters: { actions: ["delete"] } });
    const text = await (await download(done.json.download_url)).text();
    expect(text.split("\n")[0]).toContain("id,organization_id,seq");
    expect(text.split("\n").filter(Boolean)).toHaveLength(2);

    const id = filtered.json.id;
    const past = Math.floor(Date.now() / 1000) - 10;
    const expiredSig = await linkSignature(env.SECRET_KEY, id, past);
    expect((await download(`https://x.test/api/v1/audit/exports/${id}/download?expires=${past}&sig=${expiredSig}`)).status).toBe(403);
    const good = new URL(done.json.download_url);
    const altered = new URL(good);
    altered.searchParams.set("expires", String(Number(good.searchParams.get("expires")) + 60));
    expect((await download(altered.toString())).status).toBe(403);
    const otherExport = good.toString().replace(id, started.json.id);
    expect((await download(otherExport)).status).toBe(403);
    for (const malformed of ["", "?expires=soon&sig=x", `?expires=${good.searchParams.get("expires")}`, `?expires=1&sig=${"A".repeat(500)}`]) {
      expect((await download(`https://x.test/api/v1/audit/exports/${id}/download${malformed}`)).status).toBe(403);
    }
    expect((await api(`/api/v1/audit/exports/${id}?expires_in=${8 * 24 * 3600}`, { as: other.admin.as })).status).toBe(422);
  }, 60_000);

  it("legacy (unchained) rows follow the chain, so an offline verifier can count them", async () => {
    const tenant = await createTenant();
    expect((await appendBatch(tenant.ingest.as, [recordBody(), recordBody()])).status).toBe(201);
    const legacy = [crypto.randomUUID(), crypto.randomUUID()].sort();
    const sa = (await getSuperAdmin()).as;
    const imported = await api("/api/v1/audit/import", {
      method: "POST",
      as: sa,
      body: { organization_id: tenant.org.id, records: legacy.map((id) => ({ ...recordBody(), id, timestamp: "2018-01-01T00:00:00Z" })) },
    });
    expect(imported.status).toBe(201);
    // Two appended, the import record, the two imported rows; the export's own record comes after.
    expect(await logLength(tenant.org.id)).toBe(5);
    const started = await api("/api/v1/audit/exports", { method: "POST", as: tenant.admin.as, body: {} });
    expect(started.status).toBe(202);
    const done = await runExportToEnd(started.json.id, tenant.admin.as);
    const lines = (await (await download(done.json.download_url)).text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(done.json.row_count).toBe(5);
    expect(lines.map((r) => r.seq)).toEqual([1, 2, 3, null, null]);
    expect(lines.slice(-2).map((r) => r.id)).toEqual(legacy);
  });

  it("tenant isolation and roles", async () => {
    const mine = await api("/api/v1/audit/exports", { method: "POST", as: t.admin.as, body: { actions: ["login"] } });
    expect(mine.status).toBe(202);
    expect((await api(`/api/v1/audit/exports/${mine.json.id}`, { as: other.admin.as })).status).toBe(404);
    const list = await api("/api/v1/audit/exports", { as: other.admin.as });
    expect(list.json.items.map((e: { id: string }) => e.id)).not.toContain(mine.json.id);
    expect((await api("/api/v1/audit/exports", { method: "POST", as: t.member.as, body: {} })).status).toBe(403);
    expect((await api("/api/v1/audit/exports", { method: "POST", as: t.ingest.as, body: {} })).status).toBe(403);
    expect((await api("/api/v1/audit/exports", { method: "POST", as: t.admin.as, body: { organization_id: other.org.id } })).status).toBe(404);
    expect((await api("/api/v1/audit/exports", { method: "POST", as: t.admin.as, body: { format: "xml" } })).status).toBe(422);
    const sa = (await getSuperAdmin()).as;
    expect((await api("/api/v1/audit/exports", { method: "POST", as: sa, body: {} })).status).toBe(422);
    const listed = await api(`/api/v1/audit/exports?organization_id=${t.org.id}`, { as: sa });
    expect(listed.status).toBe(200);
    // The 25,000-row export and this one, newest first.
    expect(listed.json.items.map((e: { id: string }) => e.id)[0]).toBe(mine.json.id);
    expect(listed.json.items).toHaveLength(2);
    // The organization may be named in the query too, as on the capped export; never two different ones.
    const named = await api(`/api/v1/audit/exports?organization_id=${other.org.id}`, { method: "POST", as: sa, body: { format: "csv" } });
    expect(named.status).toBe(202);
    expect((await api(`/api/v1/audit/exports/${named.json.id}`, { as: other.admin.as })).json).toMatchObject({ organization_id: other.org.id, format: "csv" });
    const both = await api(`/api/v1/audit/exports?organization_id=${other.org.id}`, { method: "POST", as: sa, body: { organization_id: t.org.id } });
    expect(both.status).toBe(422);
    expect(both.json.error.details).toEqual([{ field: "organization_id", message: "the query and the body name different organizations" }]);
    expect((await api(`/api/v1/audit/exports?organization_id=${other.org.id}`, { method: "POST", as: t.admin.as, body: {} })).status).toBe(404);
    expect((await api("/api/v1/audit/exports?org=1", { method: "POST", as: t.admin.as, body: {} })).status).toBe(422);
  });
});

describe("exports carry what checks them against the tree with the public key alone", () => {
  it("an unfiltered export ends at a signed tree head whose root its records rebuild; a filtered one with gaps carries none", async () => {
    const tenant = await createTenant();
    const records = Array.from({ length: 6 }, (_, i) => recordBody({ action: i % 2 === 0 ? "create" : "update" }));
    expect((await appendBatch(tenant.ingest.as, records)).status).toBe(201);

    const whole = await api("/api/v1/audit/exports", { method: "POST", as: tenant.admin.as, body: { format: "jsonl" } });
    const done = await runExportToEnd(whole.json.id, tenant.admin.as);
    expect(done.json).toMatchObject({ status: "complete", row_count: 6, compact_range: null });
    const head = await checkedTreeHead(done.json.tree_head);
    expect(head).toMatchObject({ organizationId: tenant.org.id, size: 6 });
    const lines = jsonLinesOf(new TextDecoder().decode(await (await download(done.json.download_url)).arrayBuffer()));
    const rebuilt = await rootOfRecords(null, lines);
    expect(rebuilt.size).toBe(6);
    expect(sameHash(rebuilt.root, head.root)).toBe(true);
    // One changed record, and the root is another.
    const altered = lines.map((r, i) => (i === 3 ? { ...r, metadata: { ticket: "OPS-2" } } : r));
    expect(sameHash((await rootOfRecords(null, altered)).root, head.root)).toBe(false);

    // The export's own record (seq 7) was the head when its tree head was signed: a checkpoint of
    // seq 6 would state a head that was not the head, so the tree head is signed on its own...
    const checkpoints = await api(`/api/v1/audit/checkpoints?organization_id=${tenant.org.id}`, { as: (await getSuperAdmin()).as });
    expect(checkpoints.status).toBe(200);
    expect(checkpoints.json.items.filter((c: { seq: number }) => c.seq <= 6)).toEqual([]);
    expect(await chainLength(tenant.org.id)).toBeGreaterThan(6);
    // ...and counts as a signed tree head: proofs against it, and from it to a newer one.
    const inclusion = await api(`/api/v1/audit/logs/${lines[2]!.id}/proof?tree_size=6`, { as: tenant.admin.as });
    expect(inclusion.status).toBe(200);
    expect(inclusion.json).toMatchObject({ tree_size: 6, checkpoint: done.json.tree_head });
    const newer = await api("/api/v1/audit/checkpoints", { method: "POST", as: (await getSuperAdmin()).as, body: { organization_id: tenant.org.id } });
    expect(newer.status).toBe(201);
    const consistency = await api(`/api/v1/audit/proofs/consistency?organization_id=${tenant.org.id}&first=6&second=${newer.json.seq}`, { as: tenant.admin.as });
    expect(consistency.status).toBe(200);
    const newerHead = await checkedTreeHead(consistency.json.checkpoint);
    const proof = consistency.json.consistency.map((h: string) => fromHex(h));
    expect(await verifyConsistency(6, newerHead.size, head.root, newerHead.root, proof)).toBe(true);
    // Asked again, size 6 gets the same signed note.
    expect(await signedTreeHeadOfSize(env, db(), tenant.org.id, 6)).toBe(done.json.tree_head);

    // Seqs 2, 4 and 6 are no range of the tree: nothing to check them against as a whole.
    const filtered = await api("/api/v1/audit/exports", { method: "POST", as: tenant.admin.as, body: { format: "jsonl", actions: ["update"] } });
    const partial = await runExportToEnd(filtered.json.id, tenant.admin.as);
    expect(partial.json).toMatchObject({ status: "complete", row_count: 3, tree_head: null, compact_range: null });
  });
});
