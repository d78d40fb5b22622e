import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { publicKeys } from "../src/audit/chain/checkpoints";
import { canonicalRow, type AuditRecord } from "../src/audit/chain/record";
import { fromBase64Url, fromHex, toHex } from "../src/crypto/encoding";
import { canonicalJson } from "../src/crypto/jcs";
import { verifyEd25519, ed25519Signer, parsePrivateJwk } from "../src/crypto/ed25519";
import { foldRight, CompactRange } from "../src/crypto/merkle/compact-range";
import { leafHashOfCanonical } from "../src/crypto/merkle/hash";
import { TILE_WIDTH } from "../src/crypto/merkle/tiles";
import { growTileStatements } from "../src/audit/chain/tree-store";
import { checkpointNow } from "../src/audit/chain/append";
import { signTreeHead, verifyTreeHead } from "../src/crypto/merkle/tree-head";
import { verifyConsistency, verifyInclusion } from "../src/crypto/merkle/verify";
import { api, appendBatch, appendRecord, chainRows, createTenant, getSuperAdmin, recordBody, sql } from "./helpers";

const leafOf = (record: AuditRecord) => leafHashOfCanonical(canonicalRow(record));
const keys = () => publicKeys(env);

async function rootOf(orgId: string, size?: number) {
  const records = (await chainRows(orgId)).slice(0, size);
  const range = new CompactRange(0, []);
  for (const row of records) {
    const record = (await api(`/api/v1/audit/logs/${row.id}`, { as: (await getSuperAdmin()).as })).json as AuditRecord;
    await range.append(await leafOf(record), () => {});
  }
  return range.root();
}

const signCheckpoint = async (orgId: string) => {
  const res = await api("/api/v1/audit/checkpoints", { method: "POST", as: (await getSuperAdmin()).as, body: { organization_id: orgId } });
  expect(res.status).toBe(201);
  return res.json as { seq: number; tree_head: string };
};

describe("write receipts", () => {
  it("every append carries a signed receipt of exactly its records; a changed record does not match it", async () => {
    const tenant = await createTenant();
    const one = await appendRecord(tenant.ingest.as, recordBody());
    const batch = await appendBatch(tenant.ingest.as, [recordBody(), recordBody(), recordBody()]);
    expect([one.status, batch.status]).toEqual([201, 201]);
    const [publicKey] = await keys();
    for (const [res, records] of [
      [one, [one.json as AuditRecord]],
      [batch, batch.json.records as AuditRecord[]],
    ] as const) {
      const header = res.headers.get("Chainproof-Receipt")!;
      const receipt = JSON.parse(new TextDecoder().decode(fromBase64Url(header)));
      const { signature, ...signed } = receipt;
      expect(canonicalJson(receipt)).toBe(new TextDecoder().decode(fromBase64Url(header)));
      expect(signed).toEqual({
        type: "chainproof.receipt.v1",
        organization_id: tenant.org.id,
        first_seq: records[0]!.seq,
        last_seq: records.at(-1)!.seq,
        leaves_sha256: toHex(await crypto.subtle.digest("SHA-256", concat(await Promise.all(records.map(leafOf))))),
        recorded_at: records[0]!.recorded_at,
        kid: publicKey!.kid,
      });
      expect(await verifyEd25519(publicKey!, canonicalJson(signed), signature)).toBe(true);
      const changed = { ...records[0]!, action: "delete" } as AuditRecord;
      const changedLeaves = await Promise.all([changed, ...records.slice(1)].map(leafOf));
      expect(toHex(await crypto.subtle.digest("SHA-256", concat(changedLeaves)))).not.toBe(signed.leaves_sha256);
      expect(await verifyEd25519(publicKey!, canonicalJson({ ...signed, last_seq: signed.last_seq + 1 }), signature)).toBe(false);
    }
    expect(batch.json.records.map((r: AuditRecord) => r.seq)).toEqual([2, 3, 4]);
  });

  it("a legacy import answers the receipt of its chained import record", async () => {
    const tenant = await createTenant();
    const sa = (await getSuperAdmin()).as;
    const legacy = { ...recordBody(), id: crypto.randomUUID(), timestamp: "2019-03-04T05:06:07Z" };
    const res = await api("/api/v1/audit/import", { method: "POST", as: sa, body: { organization_id: tenant.org.id, records: [legacy] } });
    expect(res.status).toBe(201);
    const record = res.json.import_record as AuditRecord;
    const header = res.headers.get("Chainproof-Receipt");
    expect(header).not.toBeNull();
    const { signature, ...signed } = JSON.parse(new TextDecoder().decode(fromBase64Url(header!)));
    const [publicKey] = await keys();
    expect(signed).toMatchObject({ first_seq: record.seq, last_seq: record.seq, leaves_sha256: toHex(await crypto.subtle.digest("SHA-256", await leafOf(record))) });
    expect(await verifyEd25519(publicKey!, canonicalJson(signed), signature)).toBe(true);
  });

  it("a replay with the same Idempotency-Key answers the same receipt", async () => {
    const tenant = await createTenant();
    const body = [recordBody(), recordBody()];
    const first = await appendBatch(tenant.ingest.as, body, { "Idempotency-Key": "receipt-replay" });
    const again = await appendBatch(tenant.ingest.as, body, { "Idempotency-Key": "receipt-replay" });
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.headers.get("Chainproof-Receipt")).toBe(first.headers.get("Chainproof-Receipt"));
  });
});

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.length * 32);
  parts.forEach((p, i) => out.set(p, i * 32));
  return out;
};

describe("tile writes", () => {
  const hashes = (n: number, fill: number) => new Uint8Array(32 * n).fill(fill);
  const tileBytes = async (orgId: string, level: number, tileIndex: number) =>
    (await env.DB.prepare("SELECT length(hashes) AS bytes FROM merkle_tiles WHERE organization_id = ? AND level = ? AND tile_index = ?").bind(orgId, level, tileIndex).first<{ bytes: number }>())?.bytes;

  it("land only on tiles holding exactly the tree's nodes before them; otherwise nothing in their batch lands", async () => {
    const orgId = crypto.randomUUID();
    const bystander = crypto.randomUUID();
    await env.DB.batch(growTileStatements(env.DB, orgId, 0, [{ level: 0, tileIndex: 0, added: hashes(TILE_WIDTH - 1, 1) }]));
    // The tree has 255 leaves; a writer that believes it has 254 is refused, with everything in its batch.
    const stale = [...growTileStatements(env.DB, bystander, 0, [{ level: 0, tileIndex: 0, added: hashes(1, 9) }]), ...growTileStatements(env.DB, orgId, TILE_WIDTH - 2, [{ level: 0, tileIndex: 0, added: hashes(1, 2) }])];
    await expect(env.DB.batch(stale)).rejects.toThrow(/NOT NULL/);
    expect(await tileBytes(bystander, 0, 0)).toBeUndefined();
    expect(await tileBytes(orgId, 0, 0)).toBe(32 * (TILE_WIDTH - 1));

    // A tile the tree has not reached yet must not exist: one planted ahead of it refuses the write.
    await env.DB.batch(growTileStatements(env.DB, orgId, TILE_WIDTH * 2, [{ level: 1, tileIndex: 1, added: hashes(1, 7) }]));
    const twoLeaves = [
      { level: 0, tileIndex: 0, added: hashes(1, 3) },
      { level: 0, tileIndex: 1, added: hashes(1, 4) },
      { level: 1, tileIndex: 0, added: hashes(1, 5) },
      { level: 1, tileIndex: 1, added: hashes(1, 6) },
    ];
    await expect(env.DB.batch(growTileStatements(env.DB, orgId, TILE_WIDTH - 1, twoLeaves))).rejects.toThrow(/NOT NULL/);
    expect(await tileBytes(orgId, 0, 1)).toBeUndefined();
    await sql("DELETE FROM merkle_tiles WHERE organization_id = ? AND level = 1", orgId);
    await env.DB.batch(growTileStatements(env.DB, orgId, TILE_WIDTH - 1, twoLeaves.slice(0, 3)));
    expect([await tileBytes(orgId, 0, 0), await tileBytes(orgId, 0, 1), await tileBytes(orgId, 1, 0)]).toEqual([32 * TILE_WIDTH, 32, 32]);
  });
});

describe("a tree ahead of its chain", () => {
  const raised = (orgId: string) =>
    env.DB.prepare("SELECT description, risk_score, metadata FROM security_events WHERE organization_id = ? AND event_type = 'chain_integrity_failure'")
      .bind(orgId)
      .all<{ description: string; risk_score: number; metadata: string }>()
      .then((r) => r.results.map((e) => ({ ...e, metadata: JSON.parse(e.metadata) })));

  it("the newest row cut from the chain behind chainproof's back: raised once as chain_integrity_failure when the chain loads; appends go on", async () => {
    const tenant = await createTenant();
    await appendBatch(tenant.ingest.as, [recordBody(), recordBody(), recordBody()]);
    const rows = await chainRows(tenant.org.id);
    const head = rows.at(-1)!;
    await sql("DELETE FROM audit_logs WHERE id = ?", head.id);
    expect(await raised(tenant.org.id)).toEqual([]);

    // Restarted, the chain object reads the head and the tree again on its first call (a checkpoint: it appends nothing).
    await abortAllDurableObjects();
    expect((await checkpointNow(env, tenant.org.id))?.seq).toBe(head.seq - 1);
    const found = `the Merkle tree holds ${head.seq} leaves but the chain ends at seq ${head.seq - 1}`;
    const expected = [
      {
        description: `Merkle tree ahead of the chain: ${found} (rows removed from the chain's end, or tiles written outside chainproof)`,
        risk_score: 100,
        metadata: { job: "chain load", reason: "tree ahead of chain", tree_size: head.seq, head_seq: head.seq - 1 },
      },
    ];
    expect(await raised(tenant.org.id)).toEqual(expected);
    await abortAllDurableObjects();
    await checkpointNow(env, tenant.org.id);
    expect(await raised(tenant.org.id)).toEqual(expected);

    const appended = await appendRecord(tenant.ingest.as, recordBody());
    expect(appended.status).toBe(201);
    expect(appended.json.seq).toBe(head.seq);
  });

  it("a tile extended outside chainproof: raised when the chain loads", async () => {
    const tenant = await createTenant();
    await appendBatch(tenant.ingest.as, [recordBody(), recordBody()]);
    const headSeq = (await chainRows(tenant.org.id)).at(-1)!.seq as number;
    await sql("UPDATE merkle_tiles SET hashes = CAST(hashes || zeroblob(32) AS BLOB) WHERE organization_id = ? AND level = 0 AND tile_index = 0", tenant.org.id);
    await abortAllDurableObjects();
    await checkpointNow(env, tenant.org.id);
    expect((await raised(tenant.org.id)).map((e) => e.metadata)).toEqual([{ job: "chain load", reason: "tree ahead of chain", tree_size: headSeq + 1, head_seq: headSeq }]);
  });
});

describe("tree heads and proofs", () => {
  it("the tree head is signed over the root of every chained row; inclusion proofs verify against it", async () => {
    const tenant = await createTenant();
    const appended = await appendBatch(tenant.ingest.as, Array.from({ length: 11 }, (_, i) => recordBody({ metadata: { i } })));
    const records = appended.json.records as AuditRecord[];
    const head = await api(`/api/v1/audit/tree-head`, { as: tenant.admin.as });
    expect(head.status).toBe(200);
    expect(Object.keys(head.json)).toEqual(["organization_id", "tree_size", "checkpoint", "root_hash"]);
    const checked = await verifyTreeHead(head.json.checkpoint, await keys());
    expect(checked.ok && checked.head.size).toBe(head.json.tree_size);
    expect(head.json.tree_size).toBeGreaterThanOrEqual(11);
    expect(head.json.root_hash).toBe(toHex(await rootOf(tenant.org.id, head.json.tree_size)));
    expect(checked.ok && toHex(checked.head.root)).toBe(head.json.root_hash);

    for (const record of [records[0]!, records[6]!, records[10]!]) {
      const proof = await api(`/api/v1/audit/logs/${record.id}/proof`, { as: tenant.admin.as });
      expect(proof.status).toBe(200);
      expect(Object.keys(proof.json)).toEqual(["organization_id", "leaf_index", "tree_size", "leaf_hash", "inclusion", "checkpoint"]);
      expect(proof.json.leaf_index).toBe(record.seq! - 1);
      expect(proof.json.leaf_hash).toBe(toHex(await leafOf(record)));
      const note = await verifyTreeHead(proof.json.checkpoint, await keys());
      expect(note.ok).toBe(true);
      if (!note.ok) return;
      expect(note.head.size).toBe(proof.json.tree_size);
      expect(await verifyInclusion(proof.json.leaf_index, proof.json.tree_size, await leafOf(record), proof.json.inclusion.map(fromHex), note.head.root)).toBe(true);
    }
  });

  it("a tampered row no longer matches its proof", async () => {
    const tenant = await createTenant();
    const appended = await appendBatch(tenant.ingest.as, [recordBody(), recordBody(), recordBody()]);
    const target = appended.json.records[1] as AuditRecord;
    await sql("UPDATE audit_logs SET action = 'delete' WHERE id = ?", target.id);
    const proof = await api(`/api/v1/audit/logs/${target.id}/proof`, { as: tenant.admin.as });
    expect(proof.status).toBe(200);
    const stored = (await api(`/api/v1/audit/logs/${target.id}`, { as: tenant.admin.as })).json as AuditRecord;
    expect(stored.action).toBe("delete");
    const note = await verifyTreeHead(proof.json.checkpoint, await keys());
    if (!note.ok) throw new Error(note.reason);
    const proofPath = proof.json.inclusion.map(fromHex);
    expect(await verifyInclusion(proof.json.leaf_index, proof.json.tree_size, await leafOf(stored), proofPath, note.head.root)).toBe(false);
    expect(await verifyInclusion(proof.json.leaf_index, proof.json.tree_size, await leafOf(target), proofPath, note.head.root)).toBe(true);
  });

  it("consistency proofs between two signed heads verify; sizes that were never signed are 422", async () => {
    const tenant = await createTenant();
    await appendBatch(tenant.ingest.as, Array.from({ length: 5 }, () => recordBody()));
    const older = await signCheckpoint(tenant.org.id);
    await appendBatch(tenant.ingest.as, Array.from({ length: 9 }, () => recordBody()));
    const newer = await signCheckpoint(tenant.org.id);
    // The tree's witness moved on to the newer head, which extends the one it held.
    expect(await (await env.ARCHIVE.get(`checkpoints/${tenant.org.id}/tree-head.txt`))!.text()).toBe(newer.tree_head);
    const res = await api(`/api/v1/audit/proofs/consistency?first=${older.seq}&second=${newer.seq}`, { as: tenant.admin.as });
    expect(res.status).toBe(200);
    expect(res.json.checkpoint).toBe(newer.tree_head);
    const [a, b] = [await verifyTreeHead(older.tree_head, await keys()), await verifyTreeHead(newer.tree_head, await keys())];
    if (!a.ok || !b.ok) throw new Error("tree heads do not verify");
    expect(await verifyConsistency(older.seq, newer.seq, a.head.root, b.head.root, res.json.consistency.map(fromHex))).toBe(true);
    expect(await verifyConsistency(older.seq, newer.seq, await foldRight([fromHex("00".repeat(32))]), b.head.root, res.json.consistency.map(fromHex))).toBe(false);

    const unsigned = await api(`/api/v1/audit/proofs/consistency?first=${older.seq - 1}&second=${newer.seq}`, { as: tenant.admin.as });
    expect(unsigned.status).toBe(422);
    expect(unsigned.json.error.details).toEqual([{ field: "first", message: `no signed tree head of size ${older.seq - 1} was issued` }]);
    expect((await api(`/api/v1/audit/proofs/consistency?first=${newer.seq}&second=${older.seq}`, { as: tenant.admin.as })).status).toBe(422);
    expect((await api(`/api/v1/audit/proofs/consistency?first=${older.seq}&second=${newer.seq}`, { as: tenant.member.as })).status).toBe(403);
    const other = await createTenant();
    expect((await api(`/api/v1/audit/proofs/consistency?organization_id=${tenant.org.id}&first=${older.seq}&second=${newer.seq}`, { as: other.admin.as })).status).toBe(404);

    const record = (await chainRows(tenant.org.id))[0]!;
    const atOlder = await api(`/api/v1/audit/logs/${record.id}/proof?tree_size=${older.seq}`, { as: tenant.admin.as });
    expect(atOlder.status).toBe(200);
    expect(atOlder.json.checkpoint).toBe(older.tree_head);
    const notSigned = await api(`/api/v1/audit/logs/${record.id}/proof?tree_size=${older.seq + 1}`, { as: tenant.admin.as });
    expect(notSigned.status).toBe(422);
    expect(notSigned.json.error.details[0].field).toBe("tree_size");
    expect((await api(`/api/v1/audit/logs/${record.id}/proof`, { as: other.admin.as })).status).toBe(404);
  });

  it("a witness head the new tree does not extend is refused and raised as chain_integrity_failure", async () => {
    const tenant = await createTenant();
    await appendBatch(tenant.ingest.as, Array.from({ length: 4 }, () => recordBody()));
    const signed = await signCheckpoint(tenant.org.id);
    const witnessKey = `checkpoints/${tenant.org.id}/tree-head.txt`;
    expect(await (await env.ARCHIVE.get(witnessKey))!.text()).toBe(signed.tree_head);
    // The witness says the tree of that size had another root (a forked history).
    const signer = await ed25519Signer(parsePrivateJwk(env.CHECKPOINT_SIGNING_KEY!));
    const forked = await signTreeHead({ organizationId: tenant.org.id, size: signed.seq, root: fromHex("ab".repeat(32)) }, signer);
    await env.ARCHIVE.put(witnessKey, forked);
    await appendRecord(tenant.ingest.as, recordBody());
    const refused = await api("/api/v1/audit/checkpoints", { method: "POST", as: (await getSuperAdmin()).as, body: { organization_id: tenant.org.id } });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe("tree_inconsistent");
    expect(await (await env.ARCHIVE.get(witnessKey))!.text()).toBe(forked);
    const events = await env.DB.prepare("SELECT description, risk_score FROM security_events WHERE organization_id = ? AND event_type = 'chain_integrity_failure'")
      .bind(tenant.org.id)
      .all<{ description: string; risk_score: number }>();
    expect(events.results).toEqual([{ description: expect.stringContaining("Signed tree head refused"), risk_score: 100 }]);
  });
});
