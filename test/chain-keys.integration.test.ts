import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sealedMessage, type AuditRecord } from "../src/audit/chain/record";
import { toStoredRow } from "../src/audit/chain/stored-row";
import { insertRowStatements } from "../src/audit/chain/store";
import { validateOrganization } from "../src/audit/integrity/validate";
import { fromBase64Url } from "../src/crypto/encoding";
import { jwkThumbprint } from "../src/crypto/ed25519";
import { canonicalJson } from "../src/crypto/jcs";
import { hkdfSha256 } from "../src/crypto/hkdf";
import { hmacSha256Hex, importHmacKey } from "../src/crypto/hmac";
import { auditKeyId, loadAuditKeyring } from "../src/crypto/keys";
import { api, appendBatch, appendRecord, chainRows, createTenant, db, getSuperAdmin, recordBody, utf8, validate } from "./helpers";
import { chainOf } from "../src/audit/chain/append";

/** Rows sealed the way an older deployment sealed them, with a key that is no longer current. */
async function sealWithOldKey(orgId: string, n: number, keyBytes: Uint8Array = utf8("test-audit-key-retired")) {
  const key = await importHmacKey(keyBytes);
  const keyId = await auditKeyId(keyBytes);
  const rows: AuditRecord[] = [];
  let prev: string | null = null;
  for (let seq = 1; seq <= n; seq++) {
    const unsealed: Omit<AuditRecord, "row_hmac"> = {
      id: crypto.randomUUID(), organization_id: orgId, seq, site_id: null, actor_id: crypto.randomUUID(), action: "update" as const,
      resource_type: "device" as const, resource_id: null, status: "success" as const, ip_address: null, user_agent: null, changes: null,
      previous_state: null, new_state: null, metadata: { old: true }, timestamp: "2025-06-01T00:00:00.000Z",
      recorded_at: "2025-06-01T00:00:00.000Z", key_id: keyId, prev_hash: prev,
    };
    const row: AuditRecord = { ...unsealed, row_hmac: await hmacSha256Hex(key, sealedMessage(unsealed)) };
    rows.push(row);
    prev = row.row_hmac;
  }
  await env.DB.batch(insertRowStatements(env.DB, rows.map(toStoredRow)));
  return rows;
}

describe("key rotation", () => {
  it("the next row after a rotation is a key_rotate record sealed with the new key; old rows keep verifying", async () => {
    const t = await createTenant();
    const old = await sealWithOldKey(t.org.id, 3);
    const res = await appendRecord(t.ingest.as, recordBody());
    expect(res.status).toBe(201);
    const newKeyId = await auditKeyId(utf8("test-audit-key-current"));
    const rows = await chainRows(t.org.id);
    expect(rows.map((r) => [r.seq, r.action, r.key_id])).toEqual([
      [1, "update", old[0]!.key_id],
      [2, "update", old[0]!.key_id],
      [3, "update", old[0]!.key_id],
      [4, "key_rotate", newKeyId],
      [5, "update", newKeyId],
    ]);
    expect(rows[3]!.prev_hash).toBe(old[2]!.row_hmac);
    expect(JSON.parse(rows[3]!.metadata)).toEqual({ source: "chainproof", previous_key_id: old[0]!.key_id, new_key_id: newKeyId });
    expect(res.json.seq).toBe(5);
    expect((await validate({ organization_id: t.org.id })).json).toMatchObject({ valid: true, checked: 5 });

    // An operator who drops the retired key loses the old rows' verification: named, not "tampered".
    const withoutRetired = await loadAuditKeyring({ SECRET_KEY: "s", AUDIT_HMAC_KEY: "test-audit-key-current" });
    const result = await validateOrganization(env, db(), withoutRetired, t.org.id, { limit: 100 });
    expect(result).toMatchObject({ valid: false, broken_at: old[0]!.id, broken_seq: 1, broken_reason: "unknown key_id" });
  });
});

describe("from the SECRET_KEY-derived key to AUDIT_HMAC_KEY", () => {
  it("rows sealed before AUDIT_HMAC_KEY was set keep verifying", async () => {
    const t = await createTenant();
    const derived = await hkdfSha256(env.SECRET_KEY, "chainproof", "audit-hmac-key", 32);
    await sealWithOldKey(t.org.id, 2, derived);
    expect((await appendRecord(t.ingest.as, recordBody())).json.seq).toBe(4);
    expect((await validate({ organization_id: t.org.id })).json).toMatchObject({ valid: true, checked: 4 });
  });
});

/**
 * One row sealed and linked at the head as a holder of `keyBytes` would write it; with `rotatingFrom`
 * it is a key_rotate record of chainproof's own out of that key's epoch into this key's.
 */
async function sealAtHead(orgId: string, keyBytes: Uint8Array, rotatingFrom?: string) {
  const head = (await chainRows(orgId)).at(-1)!;
  const keyId = await auditKeyId(keyBytes);
  const unsealed: Omit<AuditRecord, "row_hmac"> = {
    id: crypto.randomUUID(), organization_id: orgId, seq: head.seq + 1, site_id: null, actor_id: "00000000-0000-0000-0000-000000000000",
    action: rotatingFrom ? "key_rotate" : "delete", resource_type: rotatingFrom ? "setting" : "user", resource_id: null, status: "success",
    ip_address: null, user_agent: null, changes: null, previous_state: null, new_state: null,
    metadata: rotatingFrom ? { source: "chainproof", previous_key_id: rotatingFrom, new_key_id: keyId } : {},
    timestamp: "2026-01-01T00:00:00.000Z", recorded_at: "2026-01-01T00:00:00.000Z", key_id: keyId, prev_hash: head.row_hmac,
  };
  const row: AuditRecord = { ...unsealed, row_hmac: await hmacSha256Hex(await importHmacKey(keyBytes), sealedMessage(unsealed)) };
  await env.DB.batch(insertRowStatements(env.DB, [toStoredRow(row)]));
  return row;
}

describe("key epochs cannot be reopened", () => {
  const retired = utf8("test-audit-key-retired");
  const current = utf8("test-audit-key-current");

  it("a retired key cannot rotate the chain back into its closed epoch, whether the walk starts at genesis or at the forgery", async () => {
    const t = await createTenant();
    await sealWithOldKey(t.org.id, 2);
    expect((await appendRecord(t.ingest.as, recordBody())).status).toBe(201); // seq 3 rotates into the current key, seq 4
    const back = await sealAtHead(t.org.id, retired, await auditKeyId(current));
    await sealAtHead(t.org.id, retired);
    const broken = { valid: false, broken_at: back.id, broken_seq: 5, broken_reason: "key_id out of epoch" };
    expect((await validate({ organization_id: t.org.id })).json).toMatchObject(broken);
    expect((await validate({ organization_id: t.org.id, start_id: back.id })).json).toMatchObject(broken);
  });

  it("the SECRET_KEY-derived fallback cannot open an epoch after the chain's first", async () => {
    const t = await createTenant();
    expect((await appendRecord(t.ingest.as, recordBody())).status).toBe(201);
    const derived = await hkdfSha256(env.SECRET_KEY, "chainproof", "audit-hmac-key", 32);
    const into = await sealAtHead(t.org.id, derived, await auditKeyId(current));
    await sealAtHead(t.org.id, derived);
    expect((await validate({ organization_id: t.org.id })).json).toMatchObject({ valid: false, broken_at: into.id, broken_seq: 2, broken_reason: "key_id out of epoch" });
  });

  it("the chain object refuses to rotate into a key whose epoch was closed: nothing is sealed", async () => {
    // The current key sealed seq 1-2, then the chain moved to another key (an operator's earlier
    // rotation); AUDIT_HMAC_KEY set back to the old key must not reopen its epoch.
    const t = await createTenant();
    expect((await appendBatch(t.ingest.as, [recordBody(), recordBody()])).status).toBe(201);
    await sealAtHead(t.org.id, retired, await auditKeyId(current));
    await abortAllDurableObjects();
    const res = await appendRecord(t.ingest.as, recordBody());
    expect(res.status).toBe(503);
    expect(res.json.error.code).toBe("append_failed");
    expect(res.json.error.message).toMatch(/key epoch was closed/);
    expect((await chainRows(t.org.id)).map((r) => r.seq)).toEqual([1, 2, 3]);
  });
});

describe("signed checkpoints", () => {
  it("the object's alarm signs its head once a minute at most, into D1 and the R2 witness", async () => {
    const t = await createTenant();
    await appendBatch(t.ingest.as, [recordBody(), recordBody(), recordBody()]);
    const stub = chainOf(env, t.org.id);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const list = await api(`/api/v1/audit/checkpoints`, { as: t.admin.as });
    expect(list.status).toBe(200);
    expect(list.json.items).toHaveLength(1);
    const cp = list.json.items[0];
    const head = (await chainRows(t.org.id)).at(-1)!;
    expect(cp).toMatchObject({ organization_id: t.org.id, seq: 3, row_hmac: head.row_hmac, kind: "head" });
    expect(cp.statement).toBe(
      canonicalJson({ type: "chainproof.checkpoint.v1", organization_id: t.org.id, seq: 3, row_hmac: head.row_hmac, issued_at: cp.issued_at, kind: "head" }),
    );

    // Anyone verifies it with the public JWKS alone.
    const jwks = await api("/.well-known/jwks.json");
    expect(jwks.status).toBe(200);
    const jwk = jwks.json.keys.find((k: { kid: string }) => k.kid === cp.kid);
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(jwk.d).toBeUndefined();
    expect(await jwkThumbprint(jwk)).toBe(cp.kid);
    const pub = await crypto.subtle.importKey("raw", fromBase64Url(jwk.x), { name: "Ed25519" }, false, ["verify"]);
    expect(await crypto.subtle.verify({ name: "Ed25519" }, pub, fromBase64Url(cp.signature), utf8(cp.statement))).toBe(true);

    const witness = await env.ARCHIVE.get(`checkpoints/${t.org.id}/3.json`);
    expect(await witness!.json()).toEqual(cp);
    expect(await (await env.ARCHIVE.get(`checkpoints/${t.org.id}/head.json`))!.json()).toEqual(cp);

    // No new rows → the next alarm signs nothing new.
    await stub.append({ organizationId: t.org.id, records: [] });
    await runDurableObjectAlarm(stub);
    expect((await api(`/api/v1/audit/checkpoints`, { as: t.admin.as })).json.items).toHaveLength(1);
  });

  it("POST forces one (super_admin only); an empty chain has nothing to sign", async () => {
    const t = await createTenant();
    const sa = (await getSuperAdmin()).as;
    const empty = await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: t.org.id } });
    expect(empty.status).toBe(409);
    await appendRecord(t.ingest.as, recordBody());
    const forced = await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: t.org.id } });
    expect(forced.status).toBe(201);
    expect(forced.json.seq).toBe(1);
    expect((await api("/api/v1/audit/checkpoints", { method: "POST", as: t.admin.as, body: { organization_id: t.org.id } })).status).toBe(403);
  });

  it("lists are tenant-scoped", async () => {
    const [a, b] = await Promise.all([createTenant(), createTenant()]);
    const sa = (await getSuperAdmin()).as;
    expect((await api(`/api/v1/audit/checkpoints?organization_id=${b.org.id}`, { as: a.admin.as })).status).toBe(404);
    expect((await api(`/api/v1/audit/checkpoints`, { as: a.member.as })).status).toBe(403);
    expect((await api(`/api/v1/audit/checkpoints`, { as: a.ingest.as })).status).toBe(403);
    expect((await api(`/api/v1/audit/checkpoints`, { as: sa })).status).toBe(422);
    expect((await api(`/api/v1/audit/checkpoints?organization_id=${b.org.id}`, { as: sa })).status).toBe(200);
    expect((await api(`/api/v1/audit/checkpoints?organization_id=${b.org.id}&limit=1001`, { as: sa })).status).toBe(422);
  });
});
