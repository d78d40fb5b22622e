import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { canonicalJson } from "../src/crypto/jcs";
import { auditKeyId } from "../src/crypto/keys";
import { api, appendBatch, appendRecord, chainRows, createTenant, getSuperAdmin, hmacHex, recordBody, type Tenant, utf8, validate } from "./helpers";

let t: Tenant;
let other: Tenant;
beforeAll(async () => {
  [t, other] = await Promise.all([createTenant(), createTenant()]);
});

/** The seal recomputed from docs/protocol.md §1 with WebCrypto directly, as a third party would. */
async function expectedHmac(row: Record<string, unknown>, key: string) {
  const members = ["id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status", "ip_address", "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id"];
  const canonical = canonicalJson(Object.fromEntries(members.map((m) => [m, row[m] ?? null])));
  return hmacHex(key, String(row.prev_hash ?? "") + canonical);
}

describe("appending", () => {
  it("seals a record exactly as docs/protocol.md §1 says and links it to the previous one", async () => {
    const first = await appendRecord(t.ingest.as, recordBody({ timestamp: "2026-03-01T10:00:00+02:00" }));
    expect(first.status).toBe(201);
    const keyId = await auditKeyId(utf8("test-audit-key-current"));
    expect(first.json).toMatchObject({ organization_id: t.org.id, seq: 1, prev_hash: null, key_id: keyId, timestamp: "2026-03-01T08:00:00.000Z" });
    expect(first.json.recorded_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(first.json.row_hmac).toBe(await expectedHmac(first.json, "test-audit-key-current"));

    const second = await appendRecord(t.adminToken.as, recordBody({ metadata: { n: 2, nested: { z: 1, a: [1.5, "é"] } } }));
    expect(second.json.seq).toBe(2);
    expect(second.json.prev_hash).toBe(first.json.row_hmac);
    expect(second.json.row_hmac).toBe(await expectedHmac(second.json, "test-audit-key-current"));
    const stored = await api(`/api/v1/audit/validate?organization_id=${t.org.id}`, { as: (await getSuperAdmin()).as });
    expect(stored.json).toMatchObject({ valid: true, checked: 2, broken_at: null, broken_reason: null, unchained: 0 });
  });

  it("fills defaults: metadata {}, nulls, timestamp now", async () => {
    const before = new Date().toISOString();
    const res = await appendRecord(t.ingest.as, { actor_id: crypto.randomUUID(), action: "login", resource_type: "user", status: "failure" });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ metadata: {}, changes: null, previous_state: null, new_state: null, site_id: null, resource_id: null, ip_address: null, user_agent: null });
    expect(res.json.timestamp >= before).toBe(true);
  });

  it("normalizes whatever ISO 8601 form the timestamp came in: no seconds, basic format, ±hhmm, lowercase", async () => {
    const sent = ["2026-03-01T10:15Z", "20260301T101500Z", "2026-03-01T11:45:00+0130", "2026-03-01t10:15:00z"];
    const res = await appendBatch(t.ingest.as, sent.map((timestamp) => recordBody({ timestamp })));
    expect(res.status).toBe(201);
    expect(res.json.records.map((r: { timestamp: string }) => r.timestamp)).toEqual([
      "2026-03-01T10:15:00.000Z", "2026-03-01T10:15:00.000Z", "2026-03-01T10:15:00.000Z", "2026-03-01T10:15:00.000Z",
    ]);
    const local = await appendRecord(t.ingest.as, recordBody({ timestamp: "2026-03-01T10:15:00" }));
    expect([local.status, local.json.error.details[0].field]).toEqual([422, "timestamp"]);
  });

  it("a timestamp more than 24 hours ahead of the clock is a 422 on it, and nothing is appended; a drifting clock's is taken", async () => {
    const head = (await chainRows(t.org.id)).length;
    const ahead = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
    const far = await appendRecord(t.ingest.as, recordBody({ timestamp: "9999-12-31T23:59:59Z" }));
    expect(far.status).toBe(422);
    expect(far.json.error.details).toEqual([{ field: "timestamp", message: "must not be more than 24 hours in the future" }]);
    const batch = await appendBatch(t.ingest.as, [recordBody(), recordBody({ timestamp: ahead(25) })]);
    expect(batch.status).toBe(422);
    expect(batch.json.error.details.map((d: { field: string }) => d.field)).toEqual(["records.1.timestamp"]);
    expect((await chainRows(t.org.id)).length).toBe(head);
    const drifting = await appendRecord(t.ingest.as, recordBody({ timestamp: ahead(23) }));
    expect(drifting.status).toBe(201);
  });

  it("appends a batch all together, in order", async () => {
    const bodies = Array.from({ length: 25 }, (_, i) => recordBody({ metadata: { i } }));
    const res = await appendBatch(t.ingest.as, bodies);
    expect(res.status).toBe(201);
    expect(res.json.records).toHaveLength(25);
    const seqs = res.json.records.map((r: { seq: number }) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 25 }, (_, i) => seqs[0] + i));
    expect(res.json.records.map((r: { metadata: { i: number } }) => r.metadata.i)).toEqual(bodies.map((_, i) => i));
    for (let i = 1; i < 25; i++) expect(res.json.records[i].prev_hash).toBe(res.json.records[i - 1].row_hmac);
  });

  it("a super_admin must name the organization; others may only name their own", async () => {
    const sa = (await getSuperAdmin()).as;
    const missing = await appendRecord(sa, recordBody());
    expect(missing.status).toBe(422);
    expect(missing.json.error.details).toEqual([{ field: "organization_id", message: "a super_admin must name the organization" }]);
    const named = await appendRecord(sa, recordBody({ organization_id: other.org.id }));
    expect(named.status).toBe(201);
    expect(named.json.organization_id).toBe(other.org.id);
    const foreign = await appendRecord(t.ingest.as, recordBody({ organization_id: other.org.id }));
    expect(foreign.status).toBe(422);
    expect(foreign.json.error.details[0].field).toBe("organization_id");
    const own = await appendRecord(t.ingest.as, recordBody({ organization_id: t.org.id }));
    expect(own.status).toBe(201);
  });

  it("a batch names a bad organization_id at its record's path, with the batch's other problems", async () => {
    const sa = (await getSuperAdmin()).as;
    const before = (await chainRows(t.org.id)).length;
    const missing = await appendBatch(sa, [recordBody(), recordBody({ organization_id: t.org.id })]);
    expect(missing.status).toBe(422);
    expect(missing.json.error.details).toEqual([{ field: "records.0.organization_id", message: "a super_admin must name the organization" }]);
    const unknown = await appendBatch(sa, [recordBody({ organization_id: crypto.randomUUID() })]);
    expect(unknown.json.error.details).toEqual([{ field: "records.0.organization_id", message: "no such organization" }]);
    const foreign = await appendBatch(t.ingest.as, [recordBody({ organization_id: other.org.id }), recordBody({ metadata: { source: "chainproof" } }), recordBody({ organization_id: other.org.id })]);
    expect(foreign.status).toBe(422);
    expect(foreign.json.error.details.map((d: { field: string }) => d.field)).toEqual([
      "records.0.organization_id",
      "records.1.metadata.source",
      "records.2.organization_id",
    ]);
    expect((await chainRows(t.org.id)).length).toBe(before);
  });

  it("members may not append", async () => {
    expect((await appendRecord(t.member.as, recordBody())).status).toBe(403);
    expect((await appendBatch(t.member.as, [recordBody()])).status).toBe(403);
  });
});

describe("bad input → 422 naming each field, nothing stored", () => {
  const count = async (orgId: string) => (await chainRows(orgId)).length;

  it.each([
    ["client-sent chain fields", { seq: 5, prev_hash: "00", row_hmac: "00", recorded_at: "2026-01-01T00:00:00Z", key_id: "k", id: crypto.randomUUID() }, ["id", "key_id", "prev_hash", "recorded_at", "row_hmac", "seq"]],
    ["unknown enum values", { action: "hack", resource_type: "spaceship", status: "maybe" }, ["action", "resource_type", "status"]],
    ["bad ids and ip", { actor_id: "bob", resource_id: "svc/x", site_id: 3, ip_address: "999.1.1.1" }, ["actor_id", "ip_address", "resource_id", "site_id"]],
    ["bad timestamp", { timestamp: "yesterday" }, ["timestamp"]],
    ["user agent too long", { user_agent: "x".repeat(513) }, ["user_agent"]],
    ["unknown field", { colour: "red" }, ["colour"]],
    ["I-JSON: unsafe integer and lone surrogate", { metadata: { big: 9007199254740993, list: [1, "\ud800"] } }, ["metadata.big", "metadata.list[1]"]],
    ["changes not {field: {old, new}}", { changes: { a: 1 } }, ["changes.a"]],
    ["changes entry with more than old and new", { changes: { a: { old: 1, new: 2, extra: 3 } } }, ["changes.a.extra"]],
    ["metadata not an object", { metadata: [1, 2] }, ["metadata"]],
  ])("%s", async (_label, overrides, fields) => {
    const before = await count(t.org.id);
    const res = await appendRecord(t.ingest.as, recordBody(overrides));
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual(fields);
    if (fields.includes("seq")) {
      expect(res.json.error.details.find((d: { field: string }) => d.field === "seq").message).toBe("is assigned by the server and must not be sent");
    }
    expect(await count(t.org.id)).toBe(before);
  });

  it("one 422 names the schema's fields and the organization, I-JSON, size and reserved-source problems together", async () => {
    const before = await count(t.org.id);
    const fields = (res: { json: { error: { details: { field: string }[] } } }) => res.json.error.details.map((d) => d.field).sort();
    const single = await appendRecord(
      t.ingest.as,
      recordBody({ action: "hack", organization_id: other.org.id, metadata: { big: 9007199254740993, source: "chainproof" } }),
    );
    expect(single.status).toBe(422);
    expect(fields(single)).toEqual(["action", "metadata.big", "metadata.source", "organization_id"]);
    const big = await appendRecord(t.ingest.as, recordBody({ status: "maybe", new_state: { blob: "x".repeat(64 * 1024) } }));
    expect(fields(big)).toEqual(["new_state", "status"]);
    const sa = (await getSuperAdmin()).as;
    const unnamed = await appendRecord(sa, recordBody({ ip_address: "999.1.1.1" }));
    expect(unnamed.json.error.details).toContainEqual({ field: "organization_id", message: "a super_admin must name the organization" });
    expect(fields(unnamed)).toEqual(["ip_address", "organization_id"]);
    const batch = await appendBatch(t.ingest.as, [recordBody({ organization_id: other.org.id }), recordBody({ action: "nope", metadata: { s: "\ud800" } })]);
    expect(fields(batch)).toEqual(["records.0.organization_id", "records.1.action", "records.1.metadata.s"]);
    const saBatch = await appendBatch(sa, [recordBody({ organization_id: t.org.id }), recordBody({ organization_id: other.org.id, status: "maybe" })]);
    expect(saBatch.json.error.details).toEqual([
      { field: "records.1.status", message: expect.any(String) },
      { field: "records.1.organization_id", message: "every record must name the same organization" },
    ]);
    expect(await count(t.org.id)).toBe(before);
  });

  it("a record over 64 KiB → 422; a batch with one bad record stores none of them", async () => {
    const before = await count(t.org.id);
    const big = await appendRecord(t.ingest.as, recordBody({ metadata: { blob: "x".repeat(64 * 1024) } }));
    expect(big.status).toBe(422);
    expect(big.json.error.details[0].message).toContain("exceeds 65536 bytes");
    expect(big.json.error.details[0].field).toBe("metadata");
    const bigInBatch = await appendBatch(t.ingest.as, [recordBody(), recordBody({ new_state: { blob: "x".repeat(64 * 1024) } })]);
    expect(bigInBatch.json.error.details.map((d: { field: string }) => d.field)).toEqual(["records.1.new_state"]);
    const batch = await appendBatch(t.ingest.as, [recordBody(), recordBody({ action: "nope" }), recordBody()]);
    expect(batch.status).toBe(422);
    expect(batch.json.error.details.map((d: { field: string }) => d.field)).toEqual(["records.1.action"]);
    const tooMany = await appendBatch(t.ingest.as, Array.from({ length: 1001 }, () => ({ actor_id: crypto.randomUUID(), action: "read", resource_type: "site", status: "success" })));
    expect(tooMany.status).toBe(422);
    expect(tooMany.json.error.details[0].field).toBe("records");
    const empty = await appendBatch(t.ingest.as, []);
    expect(empty.status).toBe(422);
    expect(await count(t.org.id)).toBe(before);
  });

  it("the validated unsafe integer is caught even though JSON.parse already rounded it", async () => {
    const res = await api("/api/v1/audit/logs", {
      method: "POST",
      as: t.ingest.as,
      rawBody: `{"actor_id":"${crypto.randomUUID()}","action":"read","resource_type":"site","status":"success","metadata":{"n":-9007199254740993}}`,
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(422);
    expect(res.json.error.details[0].field).toBe("metadata.n");
  });
});

describe("Idempotency-Key", () => {
  it("a retry answers the first result with Idempotent-Replayed and appends nothing", async () => {
    const key = crypto.randomUUID();
    const body = recordBody();
    const first = await appendRecord(t.ingest.as, body, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    const before = (await chainRows(t.org.id)).length;
    const retry = await appendRecord(t.ingest.as, body, { "Idempotency-Key": key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(retry.text).toBe(first.text);
    expect((await chainRows(t.org.id)).length).toBe(before);
  });

  it("a batch replays as a whole; the same key with another body is a 422", async () => {
    const key = crypto.randomUUID();
    const records = [recordBody(), recordBody()];
    const first = await appendBatch(t.ingest.as, records, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    expect(first.json.records).toHaveLength(2);
    const before = await chainRows(t.org.id);
    const retry = await appendBatch(t.ingest.as, records, { "Idempotency-Key": key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(retry.text).toBe(first.text);
    const reused = await appendBatch(t.ingest.as, [recordBody()], { "Idempotency-Key": key });
    expect(reused.status).toBe(422);
    expect(reused.json.error.code).toBe("idempotency_key_reused");
    const after = await chainRows(t.org.id);
    expect(after).toHaveLength(before.length);
    expect(after.slice(-2).map((r) => r.id)).toEqual(first.json.records.map((r: { id: string }) => r.id));
  });

  it("keys are per organization", async () => {
    const key = crypto.randomUUID();
    const a = await appendRecord(t.ingest.as, recordBody(), { "Idempotency-Key": key });
    expect(a.status).toBe(201);
    const b = await appendRecord(other.ingest.as, recordBody(), { "Idempotency-Key": key });
    expect(b.status).toBe(201);
    expect(b.headers.get("Idempotent-Replayed")).toBeNull();
    expect(b.json.organization_id).toBe(other.org.id);
    expect(a.json.organization_id).toBe(t.org.id);
  });

  it("a malformed key → 422", async () => {
    const res = await appendRecord(t.ingest.as, recordBody(), { "Idempotency-Key": "has spaces in it" });
    expect(res.status).toBe(422);
    expect(res.json.error.details[0].field).toBe("idempotency-key");
  });
});

describe("self-audit", () => {
  it("user, role, token and tier changes land in the acting organization's chain, with the change", async () => {
    const tenant = await createTenant();
    const base = `/api/v1/organizations/${tenant.org.id}`;
    const user = await api(`${base}/users`, { method: "POST", as: tenant.admin.as, body: { username: `audited-${crypto.randomUUID().slice(0, 8)}`, password: "long enough password", role: "member" } });
    await api(`${base}/users/${user.json.id}`, { method: "PATCH", as: tenant.admin.as, body: { role: "org_admin" } });
    const token = await api(`${base}/tokens`, { method: "POST", as: tenant.admin.as, body: { name: "ci", role: "ingest" } });
    await api(`${base}/tokens/${token.json.id}`, { method: "DELETE", as: tenant.admin.as });
    await api(`${base}/users/${user.json.id}`, { method: "DELETE", as: tenant.admin.as });
    await api(base, { method: "PATCH", as: (await getSuperAdmin()).as, body: { settings: { tier: "ENTERPRISE" } } });

    const rows = await chainRows(tenant.org.id);
    expect(rows.map((r) => [r.seq, r.action, r.resource_type])).toEqual([
      [1, "create", "user"],
      [2, "role_change", "user"],
      [3, "token_create", "api_token"],
      [4, "token_revoke", "api_token"],
      [5, "delete", "user"],
      [6, "config_change", "organization"],
    ]);
    expect(rows[0]!.actor_id).toBe(tenant.admin.user.id);
    expect(JSON.parse(rows[1]!.changes)).toEqual({ role: { old: "member", new: "org_admin" } });
    expect(JSON.parse(rows[5]!.changes)).toEqual({ tier: { old: "PROFESSIONAL", new: "ENTERPRISE" } });
    expect(rows.map((r) => r.new_state ?? "").join()).not.toContain(token.json.token);
    expect((await validate({ organization_id: tenant.org.id })).json.valid).toBe(true);
  });

  it("creating an organization starts its chain with the creation", async () => {
    const sa = await getSuperAdmin();
    const res = await api("/api/v1/organizations", { method: "POST", as: sa.as, body: { name: "Chained Org", settings: { tier: "STARTER" } } });
    const rows = await chainRows(res.json.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ seq: 1, action: "create", resource_type: "organization", resource_id: res.json.id, actor_id: sa.user.id, prev_hash: null });
  });

  it("a change whose write fails is not made, and neither is its audit record", async () => {
    const tenant = await createTenant();
    const base = `/api/v1/organizations/${tenant.org.id}`;
    expect((await appendRecord(tenant.ingest.as, recordBody())).status).toBe(201);
    // The token insert fails inside the same D1 batch as its audit record.
    await env.DB.prepare("CREATE TRIGGER refuse_never BEFORE INSERT ON api_tokens WHEN NEW.name = 'never' BEGIN SELECT RAISE(ABORT, 'refused'); END").run();
    try {
      const failed = await api(`${base}/tokens`, { method: "POST", as: tenant.admin.as, body: { name: "never", role: "ingest" } });
      expect(failed.status).toBe(503);
      expect(failed.json.error.code).toBe("append_failed");
      expect(failed.text).not.toContain("refused");
    } finally {
      await env.DB.prepare("DROP TRIGGER refuse_never").run();
    }
    const tokens = await env.DB.prepare("SELECT count(*) AS n FROM api_tokens WHERE organization_id = ? AND name = 'never'").bind(tenant.org.id).first<{ n: number }>();
    expect(tokens!.n).toBe(0);
    expect((await chainRows(tenant.org.id)).map((r) => r.action)).toEqual(["update"]);
    const next = await appendRecord(tenant.ingest.as, recordBody());
    expect(next.json.seq).toBe(2);
  });

  it("after a row is written behind its back, the object reloads its head and links after it", async () => {
    const tenant = await createTenant();
    expect((await appendRecord(tenant.ingest.as, recordBody())).status).toBe(201);
    await env.DB.prepare(
      "INSERT INTO audit_logs (id, organization_id, seq, actor_id, action, resource_type, status, metadata, timestamp, recorded_at, key_id, prev_hash, row_hmac) " +
        "VALUES (?, ?, 2, ?, 'read', 'site', 'success', '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', ?, 'p', 'h')",
    ).bind(crypto.randomUUID(), tenant.org.id, crypto.randomUUID(), await auditKeyId(utf8("test-audit-key-current"))).run();
    const next = await appendRecord(tenant.ingest.as, recordBody());
    expect(next.status).toBe(201);
    expect(next.json.seq).toBe(3);
    expect(next.json.prev_hash).toBe("h");
  });
});
