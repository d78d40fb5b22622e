import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../src/audit/chain/record";
import { jsonl, keyId, linesOf, sealChain, signerWithJwks, slow, tempDir } from "./cli-helpers";
import { leavesOf, noteOf, runInProcess, treeOf } from "./tree-fixtures";

// Keyless verify-chain applies the key epochs (docs/protocol.md §3) to the rows the signed tree
// proves: key_id and the key_rotate statement are in their leaves. The tree heads here are genuine
// (signed over the rows as they are), so the leaves give the root and only the epoch rule can fail.

const { file } = tempDir();
const keys = signerWithJwks(file);
const KEY_A = "audit-key-alpha";
const KEY_B = "audit-key-bravo";
const ORG = randomUUID();
const rotation = (from: string, to: string) => ({ action: "key_rotate", resource_type: "setting", metadata: { source: "chainproof", previous_key_id: keyId(from), new_key_id: keyId(to) } });

/** `n` rows sealed with `keyFor(seq)`, with chainproof's rotations at the seqs of `rotations`. */
const chain = (n: number, keyFor: (seq: number) => string, rotations: Record<number, [string, string]>) =>
  sealChain(n, { org: ORG, keyFor, shape: (seq) => (rotations[seq] ? (rotation(...rotations[seq]!) as Partial<AuditRecord>) : {}) });

/** verify-chain with only a genuine signed tree head of all of `rows` (and a compact range when they start later). */
async function keyless(name: string, rows: AuditRecord[], from = 1) {
  const leaves = await leavesOf(rows);
  const args = ["verify-chain", await file(`${name}.jsonl`, jsonl(rows.slice(from - 1))), "--checkpoint", await file(`${name}.note`, await noteOf(ORG, leaves, rows.length, keys.signer)), "--jwks", keys.jwksPath];
  if (from > 1) args.push("--compact-range", await file(`${name}-range.json`, JSON.stringify((await treeOf(leaves, from - 1)).compactRange)));
  return runInProcess(...args);
}

describe("verify-chain with no --key: key epochs", slow, () => {
  it("accepts a genuine file with a legitimate rotation, from genesis and as a range after it", async () => {
    const rows = chain(20, (seq) => (seq <= 10 ? KEY_A : KEY_B), { 11: [KEY_A, KEY_B] });
    const res = await keyless("rotated", rows);
    expect(res.stdout).toContain("chain:        VALID\n");
    expect(res.code).toBe(0);
    // A range that starts in the new epoch: its first row opens it.
    const range = await keyless("rotated-range", rows, 15);
    expect(range.code).toBe(0);
  });

  it("a rotation back into a closed epoch is key_id out of epoch, named at its row", async () => {
    const rows = chain(16, (seq) => (seq <= 10 || seq >= 14 ? KEY_A : KEY_B), { 11: [KEY_A, KEY_B], 14: [KEY_B, KEY_A] });
    const res = await keyless("reopened", rows);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)[0]).toBe("chain:        INVALID");
    expect(linesOf(res.stdout)).toContain(`first break:  seq 14, id ${rows[13]!.id}, line 14: key_id out of epoch`);
    // The same answer as the HMAC walk's.
    const path = await file("reopened-keyed.jsonl", jsonl(rows));
    const keyed = await runInProcess("verify-chain", path, "--key", KEY_A, "--key", KEY_B);
    expect(linesOf(keyed.stdout)).toContain(`first break:  seq 14, id ${rows[13]!.id}, line 14: key_id out of epoch`);
  });

  it("a row sealed with another key without a rotation, or with the retired key after one, is key_id out of epoch", async () => {
    const stray = chain(12, (seq) => (seq === 7 ? KEY_B : KEY_A), {});
    const res = await keyless("stray", stray);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain(`first break:  seq 7, id ${stray[6]!.id}, line 7: key_id out of epoch`);
    const late = chain(14, (seq) => (seq <= 10 || seq === 14 ? KEY_A : KEY_B), { 11: [KEY_A, KEY_B] });
    const retired = await keyless("late", late);
    expect(retired.code).toBe(1);
    expect(linesOf(retired.stdout)).toContain(`first break:  seq 14, id ${late[13]!.id}, line 14: key_id out of epoch`);
    // A range walked from the rotation on learns the closed epoch from it.
    const ranged = await keyless("late-range", late, 11);
    expect(ranged.code).toBe(1);
    expect(linesOf(ranged.stdout)).toContain(`first break:  seq 14, id ${late[13]!.id}, line 4: key_id out of epoch`);
  });
});
