import { createHash, createHmac, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { statementOf } from "../../src/audit/chain/checkpoint-statement";
import { type AuditRecord, canonicalRow } from "../../src/audit/chain/record";
import { jsonl, keyId, legacyRow, linesOf, run, sealChain as sealRows, type Signer, signerWithJwks, slow, tempDir } from "./cli-helpers";

const { file, inDir } = tempDir();
const keys = signerWithJwks(file);

describe("verify-chain", slow, () => {
  const KEY_A = "audit-key-alpha";
  const KEY_B = "audit-key-bravo";
  const ORG = randomUUID();
  const sealChain = (n: number, keyFor: (seq: number) => string = () => KEY_A, shape?: (seq: number) => Partial<AuditRecord>) =>
    sealRows(n, { org: ORG, keyFor, shape });
  const legacy = () => legacyRow(ORG);
  async function checkpointOf(row: AuditRecord, by: Signer = keys.signer) {
    const fields = { organization_id: row.organization_id, seq: row.seq!, row_hmac: row.row_hmac!, issued_at: "2026-02-01T00:00:00.000Z", kind: "head" as const };
    const statement = statementOf(fields);
    return { id: randomUUID(), ...fields, kid: by.kid, statement, signature: await by.sign(statement) };
  }

  /** Legacy rows and the chain whose seq 1 is chainproof's import record of them (its digest computed here with node:crypto). */
  function importedChain(n: number, legacyRows: AuditRecord[]) {
    const content_sha256 = createHash("sha256").update(legacyRows.map((r) => canonicalRow(r)).join("\n"), "utf8").digest("hex");
    const statement = { source: "chainproof", legacy_records: legacyRows.length, ids: legacyRows.map((r) => r.id), content_sha256 };
    return sealChain(n, undefined, (seq) => (seq === 1 ? { action: "import", resource_type: "audit_log", metadata: statement } : {}));
  }

  it("accepts a valid export, counting unchained rows wherever they are", async () => {
    const imported = [legacy(), legacy()];
    const rows = importedChain(50, imported);
    const text = jsonl([imported[0], ...rows.slice(0, 20), imported[1], ...rows.slice(20)]);
    const res = await run("verify-chain", await file("valid.jsonl", text), "--key", KEY_A);
    expect(res.stdout).toBe(
      `chain:        VALID\norganization: ${ORG}\nrows:         50 verified (seq 1–50), 2 unchained\n` +
        `start:        genesis (seq 1, prev_hash null)\nkeys:         ${keyId(KEY_A)}\n`,
    );
    expect(res.code).toBe(0);
  });

  it("an unchained row that no import record covers, or an edited imported row, is a break", async () => {
    const imported = [legacy(), legacy()];
    const rows = importedChain(5, imported);
    const stray = legacy();
    const planted = await run("verify-chain", await file("planted.jsonl", jsonl([...rows, ...imported, stray])), "--key", KEY_A);
    expect(planted.code).toBe(1);
    expect(linesOf(planted.stdout)).toContain(`first break:  id ${stray.id}: unchained row not covered by an import`);
    const edited = [imported[0], { ...imported[1]!, action: "delete" }];
    const altered = await run("verify-chain", await file("altered.jsonl", jsonl([...rows, ...edited])), "--key", KEY_A);
    expect(altered.code).toBe(1);
    expect(linesOf(altered.stdout)).toContain(`first break:  seq 1, id ${rows[0]!.id}: imported rows do not match their import record`);
  });

  it("names the exact seq and id of the first tampered row", async () => {
    const rows = sealChain(40);
    const tampered = rows.map((r) => (r.seq === 17 ? { ...r, metadata: { ...r.metadata, n: 1700 } } : r));
    const res = await run("verify-chain", await file("tampered.jsonl", jsonl(tampered)), "--key", KEY_A);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain("chain:        INVALID");
    expect(linesOf(res.stdout)).toContain(`first break:  seq 17, id ${rows[16]!.id}, line 17: row_hmac mismatch`);
    expect(linesOf(res.stdout)).toContain("rows:         16 verified (seq 1–16), 0 unchained");

    const deleted = await run("verify-chain", await file("deleted.jsonl", jsonl(rows.filter((r) => r.seq !== 9))), "--key", KEY_A);
    expect(deleted.code).toBe(1);
    expect(linesOf(deleted.stdout)).toContain(`first break:  seq 10, id ${rows[9]!.id}, line 9: seq gap`);
    const swapped = [...rows];
    [swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!];
    const swap = await run("verify-chain", await file("swapped.jsonl", jsonl(swapped)), "--key", KEY_A);
    expect(swap.code).toBe(1);
    expect(linesOf(swap.stdout)).toContain(`first break:  seq 6, id ${rows[5]!.id}, line 5: seq gap`);
    const moved = [...rows.slice(0, 5), { ...rows[5]!, organization_id: randomUUID() }, ...rows.slice(6)];
    const move = await run("verify-chain", await file("moved.jsonl", jsonl(moved)), "--key", KEY_A);
    expect(move.code).toBe(1);
    expect(linesOf(move.stdout)).toContain(`first break:  seq 6, id ${rows[5]!.id}, line 6: organization mismatch`);
    const malformed = await run("verify-chain", await file("malformed.jsonl", jsonl(rows.slice(0, 3)) + '{"id":"x"}\n'), "--key", KEY_A);
    expect(malformed.code).toBe(1);
    expect(malformed.stdout).toContain("line 4: malformed record: missing organization_id");
  });

  it("a wrong key is an unknown key_id, not tampering; rotated keys verify with both given", async () => {
    const rotation = { source: "chainproof", previous_key_id: keyId(KEY_A), new_key_id: keyId(KEY_B) };
    const rows = sealChain(30, (seq) => (seq <= 10 ? KEY_A : KEY_B), (seq) => (seq === 11 ? { action: "key_rotate", metadata: rotation } : {}));
    const path = await file("rotated.jsonl", jsonl(rows));
    const wrong = await run("verify-chain", path, "--key", "some-other-key");
    expect(wrong.code).toBe(1);
    expect(linesOf(wrong.stdout)).toContain(`first break:  seq 1, id ${rows[0]!.id}, line 1: unknown key_id`);
    const onlyNew = await run("verify-chain", path, "--key", KEY_B);
    expect(onlyNew.code).toBe(1);
    expect(linesOf(onlyNew.stdout)).toContain(`first break:  seq 1, id ${rows[0]!.id}, line 1: unknown key_id`);
    const both = await run("verify-chain", path, "--key", KEY_B, "--key", KEY_A);
    expect(both.code).toBe(0);
    expect(both.stdout).toContain(`keys:         ${keyId(KEY_B)}, ${keyId(KEY_A)}`);
    expect(both.stdout).not.toContain(KEY_A);
    // Without the rotation record, a row sealed with another key is out of the epoch.
    const unannounced = sealChain(12, (seq) => (seq <= 10 ? KEY_A : KEY_B));
    const res = await run("verify-chain", await file("unannounced.jsonl", jsonl(unannounced)), "--key", KEY_A, "--key", KEY_B);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain(`first break:  seq 11, id ${unannounced[10]!.id}, line 11: key_id out of epoch`);
  });

  it("a range that starts after genesis trusts its first prev_hash, and says so", async () => {
    const rows = sealChain(30).slice(20);
    const res = await run("verify-chain", await file("range.jsonl", jsonl(rows)), "--key", KEY_A);
    expect(res.code).toBe(0);
    expect(linesOf(res.stdout)).toContain("rows:         10 verified (seq 21–30), 0 unchained");
    expect(linesOf(res.stdout)).toContain("start:        seq 21: its prev_hash is trusted as the starting link (a range export, or a chain after a prune)");
    const genesisWithLink = sealChain(3).map((r, i) => (i === 0 ? { ...r, prev_hash: "00".repeat(32) } : r));
    const linked = await run("verify-chain", await file("genesis.jsonl", jsonl(genesisWithLink)), "--key", KEY_A);
    expect(linked.code).toBe(1);
    expect(linesOf(linked.stdout)).toContain(`first break:  seq 1, id ${genesisWithLink[0]!.id}, line 1: prev_hash mismatch`);
  });

  it("a signed checkpoint beyond the end of the file is a cut tail; at its seq it must match", async () => {
    const rows = sealChain(50);
    const checkpoint = await file("checkpoint.json", JSON.stringify(await checkpointOf(rows[49]!)));
    const full = await file("full.jsonl", jsonl(rows));
    const ok = await run("verify-chain", full, "--key", KEY_A, "--checkpoint", checkpoint, "--jwks", keys.jwksPath);
    expect(ok.stdout).toContain(`checkpoint:   seq 50, signature valid (kid ${keys.signer.kid})`);
    expect(ok.code).toBe(0);

    const truncated = await run("verify-chain", await file("truncated.jsonl", jsonl(rows.slice(0, 40))), "--key", KEY_A, "--checkpoint", checkpoint);
    expect(truncated.code).toBe(1);
    expect(truncated.stdout).toContain("first break:  seq 41: checkpoint mismatch (the file ends at seq 40 but the signed checkpoint names seq 50");

    // A rewritten chain (re-sealed with the key after seq 30) verifies on its own, but not against the checkpoint.
    const rewritten = sealChain(50);
    const mid = await file("checkpoint-30.json", JSON.stringify(await checkpointOf(rows[29]!)));
    const res = await run("verify-chain", await file("rewritten.jsonl", jsonl(rewritten)), "--key", KEY_A, "--checkpoint", mid);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain(`first break:  seq 30, id ${rewritten[29]!.id}, line 30: checkpoint mismatch`);

    const forged = await file("forged.json", JSON.stringify({ ...(await checkpointOf(rows[49]!)), seq: 60 }));
    const bad = await run("verify-chain", full, "--key", KEY_A, "--checkpoint", forged, "--jwks", keys.jwksPath);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("is not authentic: its statement does not match its fields");
    const otherSigner = await run("verify-chain", full, "--key", KEY_A, "--checkpoint", checkpoint, "--jwks", keys.otherJwksPath);
    expect(otherSigner.code).toBe(1);
    expect(otherSigner.stdout).toContain("its signature does not verify");

    expect((await run("verify-chain", full, "--key", KEY_A, "--checkpoint", await file("nonsense.json", "[1]"))).code).toBe(2);
  });

  it("usage errors exit 2: missing file, unknown flag, no key", async () => {
    const missing = await run("verify-chain", inDir("absent.jsonl"), "--key", KEY_A);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no such file");
    expect((await run("verify-chain", inDir("absent.jsonl"), "--key", KEY_A, "--verbose")).code).toBe(2);
    const noKey = await run("verify-chain", await file("nokey.jsonl", jsonl(sealChain(2))));
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("verify-chain needs --key");
    const directory = await run("verify-chain", inDir("."), "--key", KEY_A);
    expect(directory.code).toBe(2);
    expect(linesOf(directory.stderr)[0]).toBe(`chainproof: cannot read chain file ${inDir(".")}: not a regular file`);
  });

  it("streams a large file with progress on stderr", async () => {
    const n = 120_000;
    const lines: string[] = [];
    let prev: string | null = null;
    const id = keyId(KEY_A);
    for (let seq = 1; seq <= n; seq++) {
      const unsealed = {
        id: randomUUID(), organization_id: ORG, seq, site_id: null, actor_id: ORG, action: "read" as const, resource_type: "site" as const,
        resource_id: null, status: "success" as const, ip_address: null, user_agent: null, changes: null, previous_state: null,
        new_state: null, metadata: {}, timestamp: "2026-01-01T00:00:00.000Z", recorded_at: "2026-01-01T00:00:00.000Z", key_id: id, prev_hash: prev,
      };
      const row_hmac: string = createHmac("sha256", KEY_A).update((prev ?? "") + canonicalRow(unsealed)).digest("hex");
      lines.push(JSON.stringify({ ...unsealed, row_hmac }));
      prev = row_hmac;
    }
    const res = await run("verify-chain", await file("large.jsonl", lines.join("\n")), "--key", KEY_A);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`rows:         ${n} verified`);
    expect(res.stderr).toContain("checked 100,000 rows (seq 100000)");
  });
});
