import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hmacSha256Hex, importHmacKey } from "../src/crypto/hmac";
import { auditKeyId } from "../src/crypto/keys";
import { sealedMessage } from "../src/audit/chain/record";
import { recordFromRow } from "../src/audit/chain/stored-row";
import { api, appendBatch, chainOf, chainRows, createTenant, db, getSuperAdmin, recordBody, sql, utf8, validate } from "./helpers";
import { auditLogs, securityEvents } from "../src/db/schema";
import { and, eq } from "drizzle-orm";

async function expectBreak(orgId: string, brokenAt: string | null, reason: string, brokenSeq?: number) {
  const res = await validate({ organization_id: orgId });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ organization_id: orgId, valid: false, broken_at: brokenAt, broken_reason: reason, next_start_id: null });
  if (brokenSeq !== undefined) expect(res.json.broken_seq).toBe(brokenSeq);
  return res.json;
}

describe("a changed value in any sealed field", () => {
  const edits: [string, string, unknown][] = [
    ["site_id", "site_id", crypto.randomUUID()],
    ["actor_id", "actor_id", crypto.randomUUID()],
    ["action", "action", "delete"],
    ["resource_type", "resource_type", "firewall_rule"],
    ["resource_id", "resource_id", crypto.randomUUID()],
    ["status", "status", "failure"],
    ["ip_address", "ip_address", "198.51.100.1"],
    ["user_agent", "user_agent", "curl/8"],
    ["changes", "changes", '{"hostname":{"new":"evil","old":"a"}}'],
    ["previous_state", "previous_state", '{"v":99}'],
    ["new_state", "new_state", null],
    ["metadata", "metadata", '{"i":2,"x":1}'],
    ["timestamp", "timestamp", "2020-01-01T00:00:00.000Z"],
    ["recorded_at", "recorded_at", "2020-01-01T00:00:00.000Z"],
    ["id", "id", crypto.randomUUID()],
    ["row_hmac", "row_hmac", "00".repeat(32)],
  ];
  it.each(edits)("%s → row_hmac mismatch at that row", async (_label, column, value) => {
    const { orgId, rows } = await chainOf(5);
    await sql(`UPDATE audit_logs SET ${column} = ? WHERE id = ?`, value, rows[2]!.id);
    const brokenAt = column === "id" ? value : rows[2]!.id;
    await expectBreak(orgId, brokenAt as string, "row_hmac mismatch", 3);
  });

  it("stored JSON with other bytes but the same JCS value still verifies: the seal is over the value", async () => {
    const { orgId, rows } = await chainOf(3);
    expect(rows[1]!.metadata).toBe('{"i":1}');
    await sql("UPDATE audit_logs SET metadata = ? WHERE id = ?", '{ "i" : 1.0 }', rows[1]!.id);
    expect((await validate({ organization_id: orgId })).json).toMatchObject({ valid: true, checked: 3 });
  });

  it("prev_hash → prev_hash mismatch", async () => {
    const { orgId, rows } = await chainOf(5);
    await sql("UPDATE audit_logs SET prev_hash = ? WHERE id = ?", "ab".repeat(32), rows[2]!.id);
    await expectBreak(orgId, rows[2]!.id, "prev_hash mismatch", 3);
  });

  it("seq → a gap where the row was", async () => {
    const { orgId, rows } = await chainOf(5);
    await sql("UPDATE audit_logs SET seq = 99 WHERE id = ?", rows[2]!.id);
    await expectBreak(orgId, rows[3]!.id, "seq gap", 4);
  });
});

describe("structural tampering", () => {
  it("a deleted middle row → seq gap at the row after it", async () => {
    const { orgId, rows } = await chainOf(6);
    await sql("DELETE FROM audit_logs WHERE id = ?", rows[2]!.id);
    await expectBreak(orgId, rows[3]!.id, "seq gap", 4);
  });

  it("a deleted first row → seq gap at genesis", async () => {
    const { orgId, rows } = await chainOf(3);
    await sql("DELETE FROM audit_logs WHERE id = ?", rows[0]!.id);
    await expectBreak(orgId, rows[1]!.id, "seq gap", 2);
  });

  it("a deleted tail → checkpoint mismatch against the newest signed checkpoint, even with D1's checkpoints gone", async () => {
    const { orgId, rows } = await chainOf(6);
    const sa = (await getSuperAdmin()).as;
    const cp = await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: orgId } });
    expect(cp.status).toBe(201);
    expect(cp.json.seq).toBe(6);
    await sql("DELETE FROM audit_logs WHERE organization_id = ? AND seq >= 5", orgId);
    const first = await expectBreak(orgId, null, "checkpoint mismatch", 5);
    expect(first.checked).toBe(4);
    expect(first.checkpoint_seq).toBe(6);
    // The attacker also wipes D1's checkpoints: the R2 witness still knows the head.
    await sql("DELETE FROM checkpoints WHERE organization_id = ?", orgId);
    await sql("DELETE FROM audit_logs WHERE organization_id = ? AND seq > 4", orgId);
    await expectBreak(orgId, null, "checkpoint mismatch", 5);
    void rows;
  });

  it("a rewritten row at a checkpoint's seq → checkpoint mismatch", async () => {
    const { orgId, rows } = await chainOf(4);
    const sa = (await getSuperAdmin()).as;
    await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: orgId } });
    // An insider with the HMAC key re-seals the last row: only the signed checkpoint can tell.
    const key = await importHmacKey("test-audit-key-current");
    const row = recordFromRow((await db().select().from(auditLogs).where(eq(auditLogs.id, rows[3]!.id)))[0]!);
    const forged = { ...row, metadata: { i: 3, rewritten: true } };
    const forgedHmac = await hmacSha256Hex(key, sealedMessage(forged));
    await sql("UPDATE audit_logs SET metadata = ?, row_hmac = ? WHERE id = ?", '{"i":3,"rewritten":true}', forgedHmac, row.id);
    await expectBreak(orgId, row.id, "checkpoint mismatch", 4);
  });

  it("text moved between two adjacent JSON columns (same sealed bytes) → row_hmac mismatch", async () => {
    const tenant = await createTenant();
    const res = await appendBatch(tenant.ingest.as, [recordBody({ metadata: { a: 1 }, new_state: { a: 1, new_state: 2 } })]);
    const id = res.json.records[0].id;
    // metadata and new_state stand side by side in canonical(row): "metadata":{"a":1},"new_state":{"a":1,"new_state":2}
    await sql("UPDATE audit_logs SET metadata = ?, new_state = ? WHERE id = ?", '{"a":1},"new_state":{"a":1', "2}", id);
    await expectBreak(tenant.org.id, id, "row_hmac mismatch", 1);
  });

  it("a rewritten tail is caught by the R2 witness even with D1's checkpoints deleted", async () => {
    const { orgId, rows } = await chainOf(3);
    const sa = (await getSuperAdmin()).as;
    await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: orgId } });
    // An insider with the HMAC key re-seals row 3, then hides the D1 checkpoints.
    const key = await importHmacKey("test-audit-key-current");
    const row = recordFromRow((await db().select().from(auditLogs).where(eq(auditLogs.id, rows[2]!.id)))[0]!);
    const forged = { ...row, status: "failure" as const };
    await sql("UPDATE audit_logs SET status = 'failure', row_hmac = ? WHERE id = ?", await hmacSha256Hex(key, sealedMessage(forged)), row.id);
    await sql("DELETE FROM checkpoints WHERE organization_id = ?", orgId);
    await expectBreak(orgId, row.id, "checkpoint mismatch", 3);
  });

  it("a cut tail that grew back is still caught: the witness head does not move off the signed chain", async () => {
    const { tenant, orgId } = await chainOf(3);
    const sa = (await getSuperAdmin()).as;
    await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: orgId } });
    await sql("DELETE FROM audit_logs WHERE organization_id = ? AND seq >= 2", orgId);
    await sql("DELETE FROM checkpoints WHERE organization_id = ?", orgId);
    // The chain object restarts, reloads its head (seq 1) and seals new rows 2, 3, 4 over the gap.
    await evictDurableObject(env.ORG_CHAIN.get(env.ORG_CHAIN.idFromName(orgId))).catch(() => undefined);
    await appendBatch(tenant.ingest.as, [recordBody(), recordBody(), recordBody()]);
    const cp = await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: orgId } });
    expect(cp.json.seq).toBe(4);
    const witness = await (await env.ARCHIVE.get(`checkpoints/${orgId}/head.json`))!.json<{ seq: number }>();
    expect(witness.seq).toBe(3);
    await expectBreak(orgId, (await chainRows(orgId))[2]!.id, "checkpoint mismatch", 3);
  });

  it("an inserted row → row_hmac mismatch at the row that was slipped in", async () => {
    const { orgId, rows } = await chainOf(5);
    for (const seq of [5, 4, 3]) await sql("UPDATE audit_logs SET seq = seq + 1 WHERE organization_id = ? AND seq = ?", orgId, seq);
    const inserted = crypto.randomUUID();
    await sql(
      "INSERT INTO audit_logs (id, organization_id, seq, actor_id, action, resource_type, status, metadata, timestamp, recorded_at, key_id, prev_hash, row_hmac) " +
        "VALUES (?, ?, 3, ?, 'delete', 'user', 'success', '{}', ?, ?, ?, ?, ?)",
      inserted, orgId, crypto.randomUUID(), rows[2]!.timestamp, rows[2]!.recorded_at, rows[2]!.key_id, rows[1]!.row_hmac, "cd".repeat(32),
    );
    await expectBreak(orgId, inserted, "row_hmac mismatch", 3);
  });

  it("two swapped rows → prev_hash mismatch where the order breaks", async () => {
    const { orgId, rows } = await chainOf(5);
    // Through a free seq: UNIQUE(organization_id, seq) holds at every step.
    await sql("UPDATE audit_logs SET seq = 1000000 WHERE id = ?", rows[2]!.id);
    await sql("UPDATE audit_logs SET seq = 3 WHERE id = ?", rows[3]!.id);
    await sql("UPDATE audit_logs SET seq = 4 WHERE id = ?", rows[2]!.id);
    await expectBreak(orgId, rows[3]!.id, "prev_hash mismatch", 3);
  });

  it("a row copied from another organization → detected where it sits", async () => {
    const a = await chainOf(4);
    const b = await chainOf(4);
    const copied = b.rows[2]!;
    await sql("DELETE FROM audit_logs WHERE id = ?", a.rows[2]!.id);
    // Re-labelled to the victim org and linked to its previous row: organization_id is sealed.
    await sql(
      "INSERT INTO audit_logs SELECT ?, ?, seq, site_id, actor_id, action, resource_type, resource_id, status, ip_address, user_agent, changes, previous_state, new_state, metadata, timestamp, recorded_at, key_id, ?, row_hmac FROM audit_logs WHERE id = ?",
      crypto.randomUUID(), a.orgId, a.rows[1]!.row_hmac, copied.id,
    );
    const res = await validate({ organization_id: a.orgId });
    expect(res.json).toMatchObject({ valid: false, broken_reason: "row_hmac mismatch", broken_seq: 3 });
  });

  it("a row re-sealed with a wrong key → row_hmac mismatch; labelled with that key's id → unknown key_id", async () => {
    const { orgId, rows } = await chainOf(4);
    const attackerKey = await importHmacKey("attacker key");
    const row = recordFromRow((await db().select().from(auditLogs).where(eq(auditLogs.id, rows[1]!.id)))[0]!);
    const tampered = { ...row, status: "failure" as const };
    await sql("UPDATE audit_logs SET status = 'failure', row_hmac = ? WHERE id = ?", await hmacSha256Hex(attackerKey, sealedMessage(tampered)), row.id);
    await expectBreak(orgId, row.id, "row_hmac mismatch", 2);

    const attackerKeyId = await auditKeyId(utf8("attacker key"));
    const relabelled = { ...tampered, key_id: attackerKeyId };
    await sql("UPDATE audit_logs SET key_id = ?, row_hmac = ? WHERE id = ?", attackerKeyId, await hmacSha256Hex(attackerKey, sealedMessage(relabelled)), row.id);
    await expectBreak(orgId, row.id, "unknown key_id", 2);
  });

  it("a break raises a chain_integrity_failure security event with risk 100", async () => {
    const { orgId, rows } = await chainOf(3);
    await sql("UPDATE audit_logs SET action = 'read' WHERE id = ?", rows[1]!.id);
    await expectBreak(orgId, rows[1]!.id, "row_hmac mismatch");
    const events = await db().select().from(securityEvents).where(and(eq(securityEvents.organizationId, orgId), eq(securityEvents.eventType, "chain_integrity_failure")));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ riskScore: 100, severity: "critical" });
  });
});

describe("legacy rows and paging", () => {
  it("pages with next_start_id and limit, and audits each walk after it ran", async () => {
    const { orgId, rows } = await chainOf(25);
    const first = await validate({ organization_id: orgId, limit: 10 });
    expect(first.json).toMatchObject({ valid: true, checked: 10, first_seq: 1, last_seq: 10, next_start_id: rows[10]!.id, complete: false });
    const second = await validate({ organization_id: orgId, limit: 10, start_id: first.json.next_start_id });
    expect(second.json).toMatchObject({ valid: true, checked: 10, first_seq: 11, last_seq: 20, next_start_id: rows[20]!.id });
    // The two walks above appended their chain_validate records (seq 26, 27), so 7 rows remain.
    const third = await validate({ organization_id: orgId, limit: 10, start_id: second.json.next_start_id });
    expect(third.json).toMatchObject({ valid: true, checked: 7, first_seq: 21, last_seq: 27, next_start_id: null, complete: true });
    const audit = (await chainRows(orgId)).filter((r) => r.action === "chain_validate");
    expect(audit).toHaveLength(3);
    expect(JSON.parse(audit[0]!.metadata)).toMatchObject({ valid: true, checked: 10 });
  });

  it("end_id stops the walk there", async () => {
    const { orgId, rows } = await chainOf(8);
    const res = await validate({ organization_id: orgId, start_id: rows[2]!.id, end_id: rows[5]!.id });
    expect(res.json).toMatchObject({ valid: true, checked: 4, first_seq: 3, last_seq: 6, next_start_id: null });
    const one = await validate({ organization_id: orgId, start_id: rows[4]!.id, end_id: rows[4]!.id });
    expect(one.json).toMatchObject({ valid: true, checked: 1, first_seq: 5, last_seq: 5 });
  });

  it("an end_id before start_id is a 422 naming end_id, not a clean walk of nothing", async () => {
    const { orgId, rows } = await chainOf(8);
    const audited = (await chainRows(orgId)).length;
    const res = await validate({ organization_id: orgId, start_id: rows[6]!.id, end_id: rows[1]!.id });
    expect([res.status, res.json.error?.details]).toEqual([422, [{ field: "end_id", message: "comes before start_id in the chain: the range ends before it starts" }]]);
    // Nothing was walked, so nothing is audited as a walk.
    expect((await chainRows(orgId)).length).toBe(audited);
  });

  it("rejects bad parameters and other roles", async () => {
    const { orgId, tenant } = await chainOf(1);
    expect((await validate({ organization_id: orgId, limit: 100_001 })).status).toBe(422);
    expect((await validate({ organization_id: orgId, limit: 0 })).status).toBe(422);
    expect((await validate({ start_id: crypto.randomUUID() })).status).toBe(422);
    expect((await validate({ organization_id: orgId, start_id: crypto.randomUUID() })).status).toBe(404);
    expect((await validate({ organization_id: crypto.randomUUID() })).status).toBe(404);
    for (const as of [tenant.admin.as, tenant.adminToken.as, tenant.member.as, tenant.ingest.as]) {
      expect((await api(`/api/v1/audit/validate?organization_id=${orgId}`, { as })).status).toBe(403);
    }
  });
});
