import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type PendingRecord, sealedMessage } from "../src/audit/chain/record";
import { sealAfter } from "../src/audit/chain/seal";
import { sealChecks } from "../src/audit/chain/seal-check";
import { importHmacKey } from "../src/crypto/hmac";
import { auditKeyId } from "../src/crypto/keys";

const ORG = "0b8e4f5a-6c7d-4e8f-9a0b-1c2d3e4f5a6b";
const AT = "2026-01-02T03:04:05.000Z";
const pending = (i: number): PendingRecord => ({
  id: `00000000-0000-4000-8000-00000000000${i}`, organization_id: ORG, site_id: null, actor_id: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
  action: "update", resource_type: "device", resource_id: null, status: "success", ip_address: null, user_agent: null,
  changes: null, previous_state: null, new_state: null, metadata: { i }, timestamp: AT,
});
const keyOf = async (secret: string) => ({ id: await auditKeyId(new TextEncoder().encode(secret)), key: await importHmacKey(new TextEncoder().encode(secret)) });
// Recomputed here with node:crypto, not with the sealing code under test.
const hmac = (secret: string, message: string) => createHmac("sha256", secret).update(message, "utf8").digest("hex");

describe("sealing", () => {
  it("seals from genesis in order, each row linked to the one before", async () => {
    const key = await keyOf("k1");
    const sealed = await sealAfter(null, key, ORG, AT, [[pending(1), pending(2)], [pending(3)]]);
    const all = sealed.perRequest.flat();
    expect(all.map((r) => [r.seq, r.key_id, r.recorded_at])).toEqual([[1, key.id, AT], [2, key.id, AT], [3, key.id, AT]]);
    expect(all[0]!.prev_hash).toBeNull();
    for (const [i, r] of all.entries()) {
      if (i > 0) expect(r.prev_hash).toBe(all[i - 1]!.row_hmac);
      expect(r.row_hmac).toBe(hmac("k1", sealedMessage(r)));
    }
    expect(sealed.head).toEqual({ seq: 3, rowHmac: all[2]!.row_hmac, keyId: key.id });
    expect(sealed.rows).toHaveLength(3);
  });

  it("after a key change, a key_rotate record sealed with the new key comes first", async () => {
    const [old, current] = [await keyOf("k-old"), await keyOf("k-new")];
    const head = { seq: 7, rowHmac: "ab".repeat(32), keyId: old.id };
    const sealed = await sealAfter(head, current, ORG, AT, [[pending(1)]]);
    const [rotation, record] = sealed.rows;
    expect(sealed.rows).toHaveLength(2);
    expect(rotation).toMatchObject({ seq: 8, action: "key_rotate", keyId: current.id, prevHash: head.rowHmac });
    expect(JSON.parse(rotation!.metadata)).toEqual({ source: "chainproof", previous_key_id: old.id, new_key_id: current.id });
    expect(record).toMatchObject({ seq: 9, keyId: current.id, prevHash: rotation!.rowHmac });
    expect(sealed.perRequest).toEqual([[expect.objectContaining({ seq: 9 })]]);
  });
});

describe("seal checks of a page", () => {
  it("judges each row's row_hmac on its own: a malformed or wrong one beside good ones breaks only itself", async () => {
    const key = await keyOf("k1");
    const verifier = await importHmacKey(new TextEncoder().encode("k1"), ["sign", "verify"]);
    const keyring = { current: { id: key.id, key: verifier }, byId: new Map([[key.id, verifier]]), derivedFromSecret: false, derivedId: null };
    const rows = (await sealAfter(null, key, ORG, AT, [[pending(1), pending(2), pending(3), pending(4), pending(5)]])).rows;
    const page = [
      rows[0]!,
      { ...rows[1]!, rowHmac: `${"zz"}${rows[1]!.rowHmac!.slice(2)}` },
      rows[2]!,
      { ...rows[3]!, rowHmac: rows[3]!.rowHmac!.slice(2) },
      { ...rows[4]!, rowHmac: rows[2]!.rowHmac },
    ];
    expect(await sealChecks(keyring, page)).toEqual(["valid", "invalid", "valid", "invalid", "invalid"]);
    expect(await sealChecks(keyring, [rows[0]!, { ...rows[1]!, keyId: "unknown" }, rows[2]!])).toEqual(["valid", "unknown_key", "valid"]);
  });
});
