import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { statementOf } from "../../src/audit/chain/checkpoint-statement";
import type { AuditRecord } from "../../src/audit/chain/record";
import { toHex } from "../../src/crypto/encoding";
import { jsonl, keyId, linesOf, run, sealChain, signerWithJwks, slow, tempDir } from "./cli-helpers";
import { consistencyAnswer, flippedBytes, inclusionAnswer, leavesOf, noteOf, runInProcess, treeOf } from "./tree-fixtures";

const { file, inDir } = tempDir();
const keys = signerWithJwks(file);
const KEY = "audit-key-alpha";
const ORG = randomUUID();
const rows = sealChain(40, { org: ORG, keyFor: () => KEY });
let leaves: Uint8Array[] = [];
let note40 = "";
beforeAll(async () => {
  leaves = await leavesOf(rows);
  note40 = await noteOf(ORG, leaves, 40, keys.signer);
});

/** The answer's lines after the verdict, with the head's root as the test computes it. */
async function headLine(size: number) {
  return `tree head:    size ${size}, root ${toHex((await treeOf(leaves, size)).root)}, signature valid (kid ${keys.signer.kid})`;
}

describe("verify-chain with no --key: the public check against a signed tree head", slow, () => {
  it("accepts an export whose leaves give the signed root, the note given raw or in any of the API's JSON answers", async () => {
    const export_ = await file("export.jsonl", jsonl(rows));
    const raw = await run("verify-chain", export_, "--checkpoint", await file("head.note", note40), "--jwks", keys.jwksPath);
    expect(raw.stdout).toBe(
      `chain:        VALID\norganization: ${ORG}\nrows:         40 in the tree (seq 1–40), 0 unchained\nstart:        genesis (seq 1)\n` +
        `${await headLine(40)}\nroot:         matches the leaves of seq 1–40\n`,
    );
    expect(raw.code).toBe(0);
    const treeHead = { organization_id: ORG, tree_size: 40, root_hash: toHex((await treeOf(leaves)).root), checkpoint: note40 };
    const fields = { organization_id: ORG, seq: 40, row_hmac: rows[39]!.row_hmac!, issued_at: "2026-02-01T00:00:00.000Z", kind: "head" as const };
    const statement = statementOf(fields);
    const item = { id: randomUUID(), ...fields, kid: keys.signer.kid, statement, signature: await keys.signer.sign(statement), tree_head: note40 };
    for (const [name, json] of [["tree-head.json", treeHead], ["item.json", item]] as const) {
      const res = await runInProcess("verify-chain", export_, "--checkpoint", await file(name, JSON.stringify(json)), "--jwks", keys.jwksPath);
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(raw.stdout);
    }
  });

  it("every flipped byte of a record's sealed content fails, and the inclusion proof of the record names it", async () => {
    const small = rows.slice(0, 12);
    const proof = await file("proof-7.json", JSON.stringify(await inclusionAnswer(ORG, leaves, 6, 12, keys.signer)));
    const lines = jsonl(small).split("\n");
    const before = Buffer.byteLength(lines.slice(0, 6).join("\n") + "\n");
    const line7 = lines[6]!;
    // prev_hash and row_hmac are the HMAC chain's links, not part of the leaf (docs/protocol.md §12): the public check does not cover them.
    const unsealed = [line7.indexOf('"prev_hash"'), line7.length - 1];
    expect(line7.slice(unsealed[0]).startsWith('"prev_hash"')).toBe(true);
    let flips = 0;
    for (const { at, bytes } of flippedBytes(jsonl(small), before, before + Buffer.byteLength(line7.slice(0, unsealed[0])))) {
      await writeFile(inDir("flipped.jsonl"), bytes);
      const res = await runInProcess("verify-chain", inDir("flipped.jsonl"), "--checkpoint", proof, "--jwks", keys.jwksPath);
      expect(res.code, `byte ${at - before} of line 7`).toBe(1);
      expect(linesOf(res.stdout)[0]).toBe("chain:        INVALID");
      expect(res.stdout, `byte ${at - before} of line 7`).toMatch(/\nfirst break: {2}(seq \d+, )?(id \S+, )?line 7: /);
      flips++;
    }
    expect(flips).toBeGreaterThan(400);
    const tampered = small.map((r) => (r.seq === 7 ? { ...r, metadata: { ...r.metadata, n: 700 } } : r));
    const res = await run("verify-chain", await file("tampered-7.jsonl", jsonl(tampered)), "--checkpoint", proof, "--jwks", keys.jwksPath);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain(`first break:  seq 7, id ${rows[6]!.id}, line 7: leaf mismatch (this record is not the one the signed tree head holds at seq 7)`);
  });

  it("without a proof names the range; another record's proof narrows it, and says which proof to ask for next", async () => {
    const tampered = rows.map((r) => (r.seq === 17 ? { ...r, status: "failure" as const } : r));
    const path = await file("tampered.jsonl", jsonl(tampered));
    const bare = await run("verify-chain", path, "--checkpoint", await file("head40.note", note40), "--jwks", keys.jwksPath);
    expect(bare.code).toBe(1);
    expect(linesOf(bare.stdout)).toContain(
      "first break:  seq 1–40 (lines 1–40): the leaves do not give the signed root; a record among these was changed, added or removed " +
        "(pass the inclusion proof of one of them, GET /api/v1/audit/logs/{id}/proof?tree_size=40, as --checkpoint to narrow it down)",
    );
    // The audit path of seq 30 holds MTH(seq 17–24) as one hash: the first run that differs.
    const far = await runInProcess("verify-chain", path, "--checkpoint", await file("proof-30.json", JSON.stringify(await inclusionAnswer(ORG, leaves, 29, 40, keys.signer))), "--jwks", keys.jwksPath);
    expect(far.code).toBe(1);
    expect(linesOf(far.stdout)).toContain(
      "first break:  seq 17–24 (lines 17–24): a record among these does not match the signed tree head (the inclusion proof of seq 21 at tree_size 40 would narrow it down)",
    );
    const nearer = await runInProcess("verify-chain", path, "--checkpoint", await file("proof-21.json", JSON.stringify(await inclusionAnswer(ORG, leaves, 20, 40, keys.signer))), "--jwks", keys.jwksPath);
    expect(linesOf(nearer.stdout)).toContain(
      "first break:  seq 17–20 (lines 17–20): a record among these does not match the signed tree head (the inclusion proof of seq 19 at tree_size 40 would narrow it down)",
    );
    const exact = await runInProcess("verify-chain", path, "--checkpoint", await file("proof-18.json", JSON.stringify(await inclusionAnswer(ORG, leaves, 17, 40, keys.signer))), "--jwks", keys.jwksPath);
    expect(linesOf(exact.stdout)).toContain(`first break:  seq 17, id ${rows[16]!.id}, line 17: leaf mismatch (this record is not the one the signed tree head holds at seq 17)`);
    // A record removed shifts every seq after it: named where the gap is.
    const removed = await runInProcess("verify-chain", await file("removed.jsonl", jsonl(rows.filter((r) => r.seq !== 9))), "--checkpoint", inDir("head40.note"), "--jwks", keys.jwksPath);
    expect(linesOf(removed.stdout)).toContain(`first break:  seq 10, id ${rows[9]!.id}, line 9: seq gap`);
  });

  it("a file that starts after seq 1 needs the compact range of the leaves before it", async () => {
    const tail = await file("tail.jsonl", jsonl(rows.slice(20)));
    const range = await file("range-20.json", JSON.stringify((await treeOf(leaves, 20)).compactRange));
    const head = await file("head40-b.note", note40);
    const ok = await run("verify-chain", tail, "--checkpoint", head, "--jwks", keys.jwksPath, "--compact-range", range);
    expect(ok.stdout).toBe(
      `chain:        VALID\norganization: ${ORG}\nrows:         20 in the tree (seq 21–40), 0 unchained\n` +
        "start:        seq 21: the 20 leaves before it from the compact range (they count only through the root)\n" +
        `${await headLine(40)}\nroot:         matches the leaves of seq 1–40\n`,
    );
    expect(ok.code).toBe(0);
    // Without it the rows before seq 21 are unproven (the file's first lines may have been deleted): a verdict, not a usage error.
    const missing = await run("verify-chain", tail, "--checkpoint", head, "--jwks", keys.jwksPath);
    expect(missing.stdout).toBe(
      `chain:        INVALID\norganization: ${ORG}\nstart:        seq 21, without the compact range of the 20 leaves before it\n${await headLine(40)}\n` +
        `first break:  seq 21, id ${rows[20]!.id}, line 1: the tree head could not be checked: the file starts at seq 21 without the evidence before it ` +
        "(pass --compact-range FILE: the compact range of the first 20 leaves, which the export or archive carries)\n",
    );
    expect(missing.code).toBe(1);
    const short = await file("range-19.json", JSON.stringify((await treeOf(leaves, 19)).compactRange));
    const gap = await runInProcess("verify-chain", tail, "--checkpoint", head, "--jwks", keys.jwksPath, "--compact-range", short);
    expect(gap.code).toBe(1);
    expect(linesOf(gap.stdout)).toContain(`first break:  seq 21, id ${rows[20]!.id}, line 1: seq gap (the compact range covers seq 1–19, so the files must start at seq 20)`);
    const forged = (await treeOf(leaves, 20)).compactRange;
    forged.hashes[1] = "00".repeat(32);
    const wrong = await runInProcess("verify-chain", tail, "--checkpoint", head, "--jwks", keys.jwksPath, "--compact-range", await file("forged-range.json", JSON.stringify(forged)));
    expect(wrong.code).toBe(1);
    expect(linesOf(wrong.stdout)).toContain(
      "first break:  seq 21–40 (lines 1–20): the leaves do not give the signed root, or the compact range is not this tree's; a record among these was changed, added or removed " +
        "(pass the inclusion proof of one of them, GET /api/v1/audit/logs/{id}/proof?tree_size=40, as --checkpoint to narrow it down)",
    );
    const counted = await runInProcess("verify-chain", tail, "--checkpoint", head, "--jwks", keys.jwksPath, "--compact-range", await file("bad-count.json", JSON.stringify({ tree_size: 20, hashes: forged.hashes.slice(1) })));
    expect(counted.code).toBe(2);
    expect(counted.stderr).toContain("a tree of 20 leaves has 2 complete subtrees, the file lists 1 hashes");
  });

  it("files that go on after the head's size hold rows it does not vouch for; files that end before it are a cut tail", async () => {
    const path = await file("all.jsonl", jsonl(rows));
    const older = await runInProcess("verify-chain", path, "--checkpoint", await file("head30.note", await noteOf(ORG, leaves, 30, keys.signer)), "--jwks", keys.jwksPath);
    expect(older.code).toBe(1);
    expect(linesOf(older.stdout)[0]).toBe("chain:        INVALID");
    expect(linesOf(older.stdout)).toContain("rows:         30 in the tree (seq 1–30), 0 unchained");
    expect(linesOf(older.stdout)).toContain(
      `first break:  seq 31, id ${rows[30]!.id}, line 31: not covered by the signed tree head, which ends at seq 30: nothing proves this row or the ones after it ` +
        "(check the files against the tree head of their last seq, the one the export carries)",
    );
    // With the key, the HMAC walk checks the rows after the head: they are only outside the tree check.
    const keyed = await runInProcess("verify-chain", path, "--key", KEY, "--checkpoint", inDir("head30.note"), "--jwks", keys.jwksPath);
    expect(keyed.code).toBe(0);
    expect(linesOf(keyed.stdout)).toContain("note:         the files go on after seq 30: those rows are not covered by this tree head and were not checked");
    const cut = await runInProcess("verify-chain", await file("cut.jsonl", jsonl(rows.slice(0, 33))), "--checkpoint", inDir("head40-b.note"), "--jwks", keys.jwksPath);
    expect(cut.code).toBe(1);
    expect(linesOf(cut.stdout)).toContain("first break:  seq 34: the file ends at seq 33, the tree head covers 40 (the tail was cut)");
  });

  it("every flipped byte of the note fails its signature; another key or another organization's rows fail too", async () => {
    const path = await file("all-2.jsonl", jsonl(rows));
    for (const { at, bytes } of flippedBytes(note40)) {
      await writeFile(inDir("flipped.note"), bytes);
      const res = await runInProcess("verify-chain", path, "--checkpoint", inDir("flipped.note"), "--jwks", keys.jwksPath);
      expect(res.code, `byte ${at} of the note`).toBe(1);
      expect(res.stdout, `byte ${at} of the note`).toMatch(new RegExp(`^chain: {8}INVALID\ntree head: {4}${inDir("flipped.note")} is not authentic: .+\n$`));
    }
    const other = await runInProcess("verify-chain", path, "--checkpoint", inDir("head40.note"), "--jwks", keys.otherJwksPath);
    expect(other.stdout).toBe(`chain:        INVALID\ntree head:    ${inDir("head40.note")} is not authentic: no chainproof signature verifies with the given keys\n`);
    const foreign = await noteOf(randomUUID(), leaves, 40, keys.signer);
    const moved = await runInProcess("verify-chain", path, "--checkpoint", await file("foreign.note", foreign), "--jwks", keys.jwksPath);
    expect(moved.code).toBe(1);
    expect(moved.stdout).toContain(`first break:  seq 1, id ${rows[0]!.id}, line 1: organization mismatch (the tree head is organization ${foreign.split("\n")[0]!.slice(11)}'s)`);
  });

  it("with --key as well, both checks run and both verdicts show", async () => {
    const fields = { organization_id: ORG, seq: 40, row_hmac: rows[39]!.row_hmac!, issued_at: "2026-02-01T00:00:00.000Z", kind: "head" as const };
    const statement = statementOf(fields);
    const item = await file("item-40.json", JSON.stringify({ id: randomUUID(), ...fields, kid: keys.signer.kid, statement, signature: await keys.signer.sign(statement), tree_head: note40 }));
    const ok = await run("verify-chain", await file("both.jsonl", jsonl(rows)), "--key", KEY, "--checkpoint", item, "--jwks", keys.jwksPath);
    expect(ok.stdout).toBe(
      `chain:        VALID\norganization: ${ORG}\nrows:         40 verified (seq 1–40), 0 unchained\nstart:        genesis (seq 1, prev_hash null)\n` +
        `keys:         ${keyId(KEY)}\ncheckpoint:   seq 40, signature valid (kid ${keys.signer.kid})\n${await headLine(40)}\nroot:         matches the leaves of seq 1–40\n`,
    );
    expect(ok.code).toBe(0);
    // Re-sealed after an edit: the HMAC walk alone passes (whoever holds the key can do that), the signed tree head does not.
    const resealed = sealChain(40, { org: ORG, keyFor: () => KEY, shape: (seq) => ({ ...pick(rows[seq - 1]!), ...(seq === 5 ? { actor_id: randomUUID() } : {}) }) });
    const res = await run("verify-chain", await file("resealed.jsonl", jsonl(resealed)), "--key", KEY, "--checkpoint", await file("head40-c.note", note40), "--jwks", keys.jwksPath);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)[0]).toBe("chain:        INVALID");
    expect(linesOf(res.stdout)).toContain("rows:         40 verified (seq 1–40), 0 unchained");
    expect(res.stdout).toContain("\ntree break:   seq 1–40 (lines 1–40): the leaves do not give the signed root;");
    // A range export: the HMAC walk trusts its first link, so with a tree head the compact range must prove what precedes it.
    const tail = await file("tail-key.jsonl", jsonl(rows.slice(20)));
    const unchecked = await runInProcess("verify-chain", tail, "--key", KEY, "--checkpoint", item, "--jwks", keys.jwksPath);
    expect(unchecked.code).toBe(1);
    expect(linesOf(unchecked.stdout)).toContain(
      `tree break:   seq 21, id ${rows[20]!.id}, line 1: the tree head could not be checked: the file starts at seq 21 without the evidence before it ` +
        "(pass --compact-range FILE: the compact range of the first 20 leaves, which the export or archive carries)",
    );
    const range = await file("range-20-key.json", JSON.stringify((await treeOf(leaves, 20)).compactRange));
    const ranged = await runInProcess("verify-chain", tail, "--key", KEY, "--checkpoint", item, "--jwks", keys.jwksPath, "--compact-range", range);
    expect(ranged.code).toBe(0);
    expect(linesOf(ranged.stdout)).toContain("root:         matches the leaves of seq 1–40");
    const noJwks = await run("verify-chain", inDir("resealed.jsonl"), "--key", KEY, "--checkpoint", inDir("head40-c.note"));
    expect(noJwks.code).toBe(0);
    expect(linesOf(noJwks.stdout)).toContain("tree head:    not checked: pass --jwks FILE");
  });

  it("usage errors exit 2", async () => {
    const path = await file("usage.jsonl", jsonl(rows));
    const noJwks = await run("verify-chain", path, "--checkpoint", inDir("head40.note"));
    expect(noJwks.code).toBe(2);
    expect(linesOf(noJwks.stderr)[0]).toBe("chainproof: verify-chain needs --key, or --checkpoint NOTE with --jwks FILE for the public check");
    const anchor = await runInProcess("verify-chain", path, "--checkpoint", inDir("head40.note"), "--jwks", keys.jwksPath, "--anchor", inDir("head40.note"));
    expect(anchor.code).toBe(2);
    const old = await runInProcess("verify-chain", path, "--checkpoint", await file("old-item.json", JSON.stringify({ seq: 3, tree_head: null })), "--jwks", keys.jwksPath);
    expect(old.code).toBe(2);
    expect(old.stderr).toContain("holds no signed tree head: give a note file, or JSON with \"checkpoint\" or \"tree_head\" text (this checkpoint was issued before the tree was built)");
  });
});

describe("the small JSON inputs: a member name written twice is malformed", slow, () => {
  it("refuses it in the tree head or checkpoint files (--checkpoint, --first-checkpoint), the compact range and the JWKS", async () => {
    const path = await file("dup.jsonl", jsonl(rows));
    const tail = await file("dup-tail.jsonl", jsonl(rows.slice(20)));
    const head = await file("dup-head.note", note40);
    const range = (await treeOf(leaves, 20)).compactRange;
    const usage = async (args: string[], message: string) => {
      const res = await runInProcess(...args);
      expect(res.code, message).toBe(2);
      expect(res.stdout, message).toBe("");
      expect(linesOf(res.stderr)[0]).toBe(`chainproof: ${message}`);
    };
    // JSON.parse would keep the second: a reader of the file sees the first.
    const treeHead = await file("dup-tree-head.json", `{"checkpoint":"forged","organization_id":"${ORG}","tree_size":40,"checkpoint":${JSON.stringify(note40)}}`);
    await usage(["verify-chain", path, "--checkpoint", treeHead, "--jwks", keys.jwksPath], `checkpoint ${treeHead} is malformed: duplicate member checkpoint`);
    const fields = { organization_id: ORG, seq: 40, row_hmac: rows[39]!.row_hmac!, issued_at: "2026-02-01T00:00:00.000Z", kind: "head" as const };
    const statement = statementOf(fields);
    const itemText = JSON.stringify({ id: randomUUID(), ...fields, kid: keys.signer.kid, statement, signature: await keys.signer.sign(statement), tree_head: note40 });
    const item = await file("dup-item.json", `{"seq":1,${itemText.slice(1)}`);
    await usage(["verify-chain", path, "--key", KEY, "--checkpoint", item, "--jwks", keys.jwksPath], `checkpoint ${item} is malformed: duplicate member seq`);
    const rangeFile = await file("dup-range.json", `{"tree_size":19,"tree_size":20,"hashes":${JSON.stringify(range.hashes)}}`);
    await usage(["verify-chain", tail, "--checkpoint", head, "--jwks", keys.jwksPath, "--compact-range", rangeFile], `compact range ${rangeFile} is malformed: duplicate member tree_size`);
    const jwks = await file("dup-jwks.json", `{"keys":[{"kid":"other","x":"AAAA"}],"keys":[${JSON.stringify(keys.signer.publicJwk)}]}`);
    await usage(["verify-chain", path, "--checkpoint", head, "--jwks", jwks], `JWKS ${jwks} is malformed: duplicate member keys`);
    const older = await file("dup-older.json", `{"checkpoint":${JSON.stringify(await noteOf(ORG, leaves, 20, keys.signer))},"tree_size":30,"tree_size":20}`);
    const proof = await file("dup-consistency.json", JSON.stringify(await consistencyAnswer(ORG, leaves, 20, 40, keys.signer)));
    await usage(["verify-proof", proof, "--jwks", keys.jwksPath, "--first-checkpoint", older], `first checkpoint ${older} is malformed: duplicate member tree_size`);
    // The same files written once each are accepted.
    const once = await runInProcess("verify-chain", tail, "--checkpoint", head, "--jwks", await file("once-jwks.json", JSON.stringify({ keys: [keys.signer.publicJwk] })), "--compact-range", await file("once-range.json", JSON.stringify(range)));
    expect(once.code).toBe(0);
  });
});

/** The members of a row a re-sealing keeps (everything but the chain links it recomputes). */
const pick = (r: AuditRecord): Partial<AuditRecord> => ({ id: r.id, actor_id: r.actor_id, resource_id: r.resource_id, timestamp: r.timestamp, recorded_at: r.recorded_at });
