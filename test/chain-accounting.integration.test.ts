import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { canonicalRow, sealedMessage, type AuditRecord } from "../src/audit/chain/record";
import { toStoredRow } from "../src/audit/chain/stored-row";
import { insertRowStatements } from "../src/audit/chain/store";
import { sha256Hex } from "../src/crypto/encoding";
import { hkdfSha256 } from "../src/crypto/hkdf";
import { hmacSha256Hex, importHmacKey } from "../src/crypto/hmac";
import { auditKeyId } from "../src/crypto/keys";
import { api, appendRecord, chainOf, chainRows, getSuperAdmin, recordBody, sql, utf8, validate } from "./helpers";

const legacy = () => ({ ...recordBody(), id: crypto.randomUUID(), timestamp: "2019-03-04T05:06:07Z" });

async function importLegacy(orgId: string, n: number) {
  const sa = (await getSuperAdmin()).as;
  const res = await api("/api/v1/audit/import", { method: "POST", as: sa, body: { organization_id: orgId, records: Array.from({ length: n }, legacy) } });
  expect(res.status).toBe(201);
  return res.json as { records: AuditRecord[]; import_record: AuditRecord };
}

/**
 * A row an insider plants, bypassing the table's CHECK constraints the way one who can rebuild the
 * table could (the constraints are defence in depth; validation must not rely on them).
 */
async function plantUnchecked(orgId: string, seq: unknown, fields: { keyId?: string | null; prevHash?: string | null; rowHmac?: string | null } = {}) {
  const id = crypto.randomUUID();
  await env.DB.batch([
    env.DB.prepare("PRAGMA ignore_check_constraints = ON"),
    env.DB.prepare(
      "INSERT INTO audit_logs (id, organization_id, seq, actor_id, action, resource_type, status, metadata, timestamp, recorded_at, key_id, prev_hash, row_hmac) " +
        "VALUES (?, ?, ?, ?, 'delete', 'user', 'success', '{}', '2001-01-01T00:00:00.000Z', '2001-01-01T00:00:00.000Z', ?, ?, ?)",
    ).bind(id, orgId, seq, crypto.randomUUID(), fields.keyId ?? null, fields.prevHash ?? null, fields.rowHmac ?? null),
    env.DB.prepare("PRAGMA ignore_check_constraints = OFF"),
  ]);
  return id;
}

async function expectBreak(orgId: string, expected: { broken_at: string | null; broken_reason: string; broken_seq?: number | null }) {
  const res = await validate({ organization_id: orgId });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ organization_id: orgId, valid: false, complete: false, ...expected });
}

describe("every row is accounted for", () => {
  it("a whole valid chain reconciles: rows held = walked + unchained", async () => {
    const { orgId } = await chainOf(4);
    await importLegacy(orgId, 3);
    const res = await validate({ organization_id: orgId });
    expect(res.json).toMatchObject({ valid: true, checked: 5, unchained: 3, rows_held: 8, complete: true, tail_protected: true });
  });

  it("a paged walk answers for the rows beyond its page: a row planted far beyond the head is the gap a full walk meets", async () => {
    const { orgId } = await chainOf(4);
    const planted = await plantUnchecked(orgId, 1000, { keyId: "0123456789abcdef", prevHash: "00", rowHmac: "00".repeat(32) });
    const paged = await validate({ organization_id: orgId, limit: 2 });
    expect(paged.json).toMatchObject({ valid: false, broken_at: planted, broken_seq: 1000, broken_reason: "seq gap", checked: 2, complete: false });
    await expectBreak(orgId, { broken_at: planted, broken_seq: 1000, broken_reason: "seq gap" });
  });

  it("a paged walk of a whole chain still answers valid, with the rest to walk", async () => {
    const { orgId, rows } = await chainOf(4);
    const paged = await validate({ organization_id: orgId, limit: 2 });
    expect(paged.json).toMatchObject({ valid: true, checked: 2, complete: false, next_start_id: rows[2]!.id });
  });

  it("D1 refuses a row whose seq no chain can hold, or whose chain fields are half there", async () => {
    const { orgId, rows } = await chainOf(2);
    const insert = (seq: unknown, keyId: string | null, rowHmac: string | null, prevHash: string | null) =>
      sql(
        "INSERT INTO audit_logs (id, organization_id, seq, actor_id, action, resource_type, status, metadata, timestamp, recorded_at, key_id, prev_hash, row_hmac) VALUES (?, ?, ?, ?, 'delete', 'user', 'success', '{}', '2001-01-01T00:00:00.000Z', '2001-01-01T00:00:00.000Z', ?, ?, ?)",
        crypto.randomUUID(), orgId, seq, crypto.randomUUID(), keyId, prevHash, rowHmac,
      );
    const sealed = rows[0]!;
    for (const [seq, keyId, rowHmac, prevHash] of [
      [0, sealed.key_id, sealed.row_hmac, sealed.row_hmac],
      [-3, sealed.key_id, sealed.row_hmac, sealed.row_hmac],
      [2.5, sealed.key_id, sealed.row_hmac, sealed.row_hmac],
      ["seven", sealed.key_id, sealed.row_hmac, sealed.row_hmac],
      [null, sealed.key_id, null, null],
      [null, null, sealed.row_hmac, null],
      [9, null, sealed.row_hmac, sealed.row_hmac],
      [9, sealed.key_id, sealed.row_hmac, null],
    ] as const) {
      await expect(insert(seq, keyId, rowHmac, prevHash), `seq ${seq}`).rejects.toThrow(/CHECK constraint failed/);
    }
    expect((await validate({ organization_id: orgId })).json).toMatchObject({ valid: true, rows_held: 2 });
  });

  it("a planted row with seq 0 is listed by the read API, so validation reports it as broken", async () => {
    const { orgId, tenant } = await chainOf(3);
    const planted = await plantUnchecked(orgId, 0, { keyId: "0123456789abcdef", rowHmac: "00".repeat(32) });
    expect((await api(`/api/v1/audit/logs/${planted}`, { as: tenant.admin.as })).status).toBe(200);
    await expectBreak(orgId, { broken_at: planted, broken_reason: "seq out of range", broken_seq: 0 });
  });

  it("a planted row with a negative or a text seq is broken too", async () => {
    for (const seq of [-5, "abc"]) {
      const { orgId } = await chainOf(2);
      const planted = await plantUnchecked(orgId, seq, { keyId: "0123456789abcdef", rowHmac: "00".repeat(32) });
      await expectBreak(orgId, { broken_at: planted, broken_reason: "seq out of range" });
    }
  });

  it("a planted row without chain fields is not 'unchained' unless an import covers it", async () => {
    const { orgId } = await chainOf(3);
    await importLegacy(orgId, 2);
    const planted = await plantUnchecked(orgId, null);
    await expectBreak(orgId, { broken_at: planted, broken_reason: "unchained row not covered by an import", broken_seq: null });
  });

  it("an imported row whose content changed breaks its import record", async () => {
    const { orgId } = await chainOf(1);
    const { records, import_record } = await importLegacy(orgId, 3);
    await sql("UPDATE audit_logs SET actor_id = ? WHERE id = ?", crypto.randomUUID(), records[1]!.id);
    await expectBreak(orgId, { broken_at: import_record.id, broken_reason: "imported rows do not match their import record", broken_seq: import_record.seq });
  });

  it("a deleted imported row is missing from its import", async () => {
    const { orgId } = await chainOf(1);
    const { records } = await importLegacy(orgId, 3);
    await sql("DELETE FROM audit_logs WHERE id = ?", records[2]!.id);
    await expectBreak(orgId, { broken_at: records[2]!.id, broken_reason: "imported row missing or no longer unchained" });
  });

  it("the import record seals the imported ids and a SHA-256 digest of their canonical rows", async () => {
    const { orgId } = await chainOf(1);
    const { records, import_record } = await importLegacy(orgId, 2);
    // Recomputed here from the published definition, not with the server's helper.
    const digest = await sha256Hex(records.map((r) => canonicalRow(r)).join("\n"));
    expect(import_record.metadata).toEqual({
      source: "chainproof", via: "basic", role: "super_admin", legacy_records: 2, ids: records.map((r) => r.id), content_sha256: digest,
    });
  });

  it("a client cannot forge chainproof's own records: metadata.source \"chainproof\" is refused", async () => {
    const { orgId, tenant } = await chainOf(1);
    const planted = await plantUnchecked(orgId, null);
    const forged = recordBody({ action: "import", resource_type: "audit_log", metadata: { source: "chainproof", ids: [planted], content_sha256: "00".repeat(32) } });
    const res = await appendRecord(tenant.ingest.as, forged);
    expect(res.status).toBe(422);
    expect(res.json.error.details).toEqual([{ field: "metadata.source", message: '"chainproof" is reserved for records chainproof writes itself' }]);
    expect(await chainRows(orgId)).toHaveLength(1);
  });

  it("the compliance report counts only the verified chain: a planted seq 0 row is not its oldest entry", async () => {
    const { orgId, tenant, rows } = await chainOf(3);
    await plantUnchecked(orgId, 0, { keyId: "0123456789abcdef", rowHmac: "00".repeat(32) });
    const res = await api(`/api/v1/organizations/${orgId}/compliance-report`, { as: tenant.admin.as });
    expect(res.status).toBe(200);
    expect(res.json.report.audit_log).toMatchObject({ oldest_entry_at: rows[0]!.recorded_at, entry_count: 3, first_seq: 1 });
  });
});

/** A row sealed and linked at the head as an insider holding `keyBytes` would write it. */
async function sealAtHead(orgId: string, keyBytes: Uint8Array) {
  const head = (await chainRows(orgId)).at(-1)!;
  const unsealed: Omit<AuditRecord, "row_hmac"> = {
    id: crypto.randomUUID(), organization_id: orgId, seq: head.seq + 1, site_id: null, actor_id: crypto.randomUUID(), action: "delete",
    resource_type: "user", resource_id: null, status: "success", ip_address: null, user_agent: null, changes: null, previous_state: null,
    new_state: null, metadata: {}, timestamp: "2026-01-01T00:00:00.000Z", recorded_at: "2026-01-01T00:00:00.000Z",
    key_id: await auditKeyId(keyBytes), prev_hash: head.row_hmac,
  };
  const row: AuditRecord = { ...unsealed, row_hmac: await hmacSha256Hex(await importHmacKey(keyBytes), sealedMessage(unsealed)) };
  await env.DB.batch(insertRowStatements(env.DB, [toStoredRow(row)]));
  return row;
}

describe("key epochs", () => {
  it("a row sealed at the head with a retired key is out of its epoch, though the key still verifies old rows", async () => {
    const { orgId } = await chainOf(3);
    const forged = await sealAtHead(orgId, utf8("test-audit-key-retired"));
    await expectBreak(orgId, { broken_at: forged.id, broken_reason: "key_id out of epoch", broken_seq: 4 });
  });

  it("the SECRET_KEY-derived fallback cannot seal rows once an explicit key is in force", async () => {
    const { orgId } = await chainOf(2);
    const derived = await hkdfSha256(env.SECRET_KEY, "chainproof", "audit-hmac-key", 32);
    const forged = await sealAtHead(orgId, derived);
    await expectBreak(orgId, { broken_at: forged.id, broken_reason: "key_id out of epoch", broken_seq: 3 });
  });

  it("a client's own key_rotate record opens no epoch", async () => {
    const { orgId, tenant } = await chainOf(1);
    const retiredId = await auditKeyId(utf8("test-audit-key-retired"));
    const currentId = await auditKeyId(utf8("test-audit-key-current"));
    const res = await appendRecord(tenant.ingest.as, recordBody({ action: "key_rotate", metadata: { previous_key_id: currentId, new_key_id: retiredId } }));
    expect(res.status).toBe(201);
    const forged = await sealAtHead(orgId, utf8("test-audit-key-retired"));
    await expectBreak(orgId, { broken_at: forged.id, broken_reason: "key_id out of epoch", broken_seq: 3 });
  });

  it("a walk that starts mid-chain takes the epoch from the row before it", async () => {
    const { orgId, rows } = await chainOf(3);
    const forged = await sealAtHead(orgId, utf8("test-audit-key-retired"));
    const res = await validate({ organization_id: orgId, start_id: rows[2]!.id });
    expect(res.json).toMatchObject({ valid: false, broken_at: forged.id, broken_reason: "key_id out of epoch" });
  });
});
