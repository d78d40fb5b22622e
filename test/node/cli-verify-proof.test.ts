import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { receiptClaimOfRecords, signedReceipt } from "../../src/audit/chain/receipt";
import { fromBase64Url, toBase64Url, toHex } from "../../src/crypto/encoding";
import { jsonl, linesOf, run, sealChain, signerWithJwks, slow, tempDir } from "./cli-helpers";
import { consistencyAnswer, flippedBytes, inclusionAnswer, leavesOf, noteOf, runInProcess, treeOf } from "./tree-fixtures";

const { file, inDir } = tempDir();
const keys = signerWithJwks(file);
const ORG = randomUUID();
const rows = sealChain(21, { org: ORG, keyFor: () => "audit-key-alpha" });
let leaves: Uint8Array[] = [];
beforeAll(async () => {
  leaves = await leavesOf(rows);
});
const headLine = async (size: number) => `size ${size}, root ${toHex((await treeOf(leaves, size)).root)}, signature valid (kid ${keys.signer.kid})`;

describe("verify-proof", slow, () => {
  it("accepts an inclusion proof answer, and the record it proves (as the API answers it, or its JSONL line)", async () => {
    const answer = await inclusionAnswer(ORG, leaves, 12, 21, keys.signer);
    const proof = await file("inclusion.json", JSON.stringify(answer));
    const ok = await run("verify-proof", proof, "--jwks", keys.jwksPath, "--record", await file("record.json", JSON.stringify(rows[12], null, 2)));
    expect(ok.stdout).toBe(
      `proof:        VALID\norganization: ${ORG}\ntree head:    ${await headLine(21)}\n` +
        `inclusion:    leaf 12 (seq 13), leaf_hash ${answer.leaf_hash}, ${answer.inclusion.length} hashes: valid\n` +
        `record:       seq 13, id ${rows[12]!.id}, leaf hash matches\n`,
    );
    expect(ok.code).toBe(0);
    const line = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath, "--record", await file("record.jsonl", jsonl([rows[12]])));
    expect(line.code).toBe(0);
    const bare = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath);
    expect(linesOf(bare.stdout)).toContain("record:       not checked: pass --record FILE");
    expect(bare.code).toBe(0);

    const other = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath, "--record", await file("record-14.json", JSON.stringify(rows[13])));
    expect(other.code).toBe(1);
    expect(linesOf(other.stdout)).toContain("reason:       the record has seq 14, the proof is of leaf 12 (seq 13)");
    const edited = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath, "--record", await file("edited.json", JSON.stringify({ ...rows[12]!, ip_address: "203.0.113.10" })));
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain(`reason:       the record's leaf hash is ${toHex((await leavesOf([{ ...rows[12]!, ip_address: "203.0.113.10" }]))[0]!)}, the proof's leaf_hash ${answer.leaf_hash}: the record is not the one proven`);
  });

  it("every flipped byte of a proof element, the leaf hash or the note fails and names what failed", async () => {
    const answer = await inclusionAnswer(ORG, leaves, 5, 21, keys.signer);
    const text = JSON.stringify(answer);
    const spans = [answer.leaf_hash, ...answer.inclusion].map((hex) => [text.indexOf(hex), text.indexOf(hex) + 64] as const);
    let flips = 0;
    for (const [from, to] of spans) {
      for (const { at, bytes } of flippedBytes(text, from, to)) {
        await writeFile(inDir("flipped.json"), bytes);
        const res = await runInProcess("verify-proof", inDir("flipped.json"), "--jwks", keys.jwksPath);
        expect(res.code, `byte ${at}`).toBe(1);
        expect(res.stdout).toMatch(
          /\nreason: {7}(the inclusion proof of leaf 5 does not verify against the tree head's root|not an inclusion proof answer: (leaf_hash|inclusion\[\d\]) is not 64 lowercase hex characters)\n$/,
        );
        flips++;
      }
    }
    expect(flips).toBe(64 * (1 + answer.inclusion.length));
    for (const { at, bytes } of flippedBytes(answer.checkpoint)) {
      await writeFile(inDir("flipped-note.json"), JSON.stringify({ ...answer, checkpoint: bytes.toString("utf8") }));
      const res = await runInProcess("verify-proof", inDir("flipped-note.json"), "--jwks", keys.jwksPath);
      expect(res.code, `note byte ${at}`).toBe(1);
      expect(res.stdout).toMatch(/^proof: {8}INVALID\nreason: {7}the tree head \(checkpoint\) is not authentic: .+\n$/);
    }
    const moved = await runInProcess("verify-proof", await file("index.json", JSON.stringify({ ...answer, leaf_index: 6 })), "--jwks", keys.jwksPath);
    expect(linesOf(moved.stdout)).toContain("reason:       the inclusion proof of leaf 6 does not verify against the tree head's root");
    const resized = await runInProcess("verify-proof", await file("size.json", JSON.stringify({ ...answer, tree_size: 20 })), "--jwks", keys.jwksPath);
    expect(linesOf(resized.stdout)).toContain("reason:       the tree head has size 21, the answer's tree_size is 20");
    const foreign = await runInProcess("verify-proof", await file("org.json", JSON.stringify({ ...answer, organization_id: randomUUID() })), "--jwks", keys.jwksPath);
    expect(foreign.stdout).toContain(`reason:       the tree head is organization ${ORG}'s, the answer names`);
    const otherKey = await runInProcess("verify-proof", inDir("index.json"), "--jwks", keys.otherJwksPath);
    expect(linesOf(otherKey.stdout)).toContain("reason:       the tree head (checkpoint) is not authentic: no chainproof signature verifies with the given keys");
  });

  it("checks a consistency proof against the older signed tree head", async () => {
    const answer = await consistencyAnswer(ORG, leaves, 6, 21, keys.signer);
    const proof = await file("consistency.json", JSON.stringify(answer));
    const older = await file("head6.note", await noteOf(ORG, leaves, 6, keys.signer));
    const ok = await run("verify-proof", proof, "--jwks", keys.jwksPath, "--first-checkpoint", older);
    expect(ok.stdout).toBe(
      `proof:        VALID\norganization: ${ORG}\ntree head:    ${await headLine(21)}\nolder head:   ${await headLine(6)}\n` +
        `consistency:  size 6 → 21, ${answer.consistency.length} hashes: valid (the newer tree extends the older one)\n`,
    );
    expect(ok.code).toBe(0);
    const text = JSON.stringify(answer);
    for (const hex of answer.consistency) {
      for (const { at, bytes } of flippedBytes(text, text.indexOf(hex), text.indexOf(hex) + 64)) {
        await writeFile(inDir("flipped-c.json"), bytes);
        const res = await runInProcess("verify-proof", inDir("flipped-c.json"), "--jwks", keys.jwksPath, "--first-checkpoint", older);
        expect(res.code, `byte ${at}`).toBe(1);
        expect(res.stdout).toMatch(/\nreason: {7}(the consistency proof from size 6 to 21 does not verify: .+|not a consistency proof answer: consistency\[\d\] is not 64 lowercase hex characters)\n$/);
      }
    }
    // An older head of another history (one record differs) is not extended by the newer tree.
    const rewritten = await leavesOf(rows.map((r) => (r.seq === 3 ? { ...r, status: "failure" as const } : r)));
    const fork = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath, "--first-checkpoint", await file("fork6.note", await noteOf(ORG, rewritten, 6, keys.signer)));
    expect(fork.code).toBe(1);
    expect(linesOf(fork.stdout)).toContain("reason:       the consistency proof from size 6 to 21 does not verify: the tree of size 21 does not extend the tree of size 6");
    const wrongSize = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath, "--first-checkpoint", await file("head7.json", JSON.stringify({ checkpoint: await noteOf(ORG, leaves, 7, keys.signer) })));
    expect(linesOf(wrongSize.stdout)).toContain("reason:       --first-checkpoint: the older tree head has size 7, the answer's first is 6");
    const missing = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath);
    expect(missing.code).toBe(2);
    expect(linesOf(missing.stderr)[0]).toBe("chainproof: a consistency proof needs the older tree head: --first-checkpoint NOTE");
    expect((await runInProcess("verify-proof", proof)).code).toBe(2);
    expect((await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath, "--key", "x")).code).toBe(2);
  });
});

describe("verify-receipt", slow, () => {
  const batch = () => rows.slice(14, 18);
  const receiptOf = async () => signedReceipt((await receiptClaimOfRecords(ORG, batch()))!, keys.signer);

  it("accepts the header value or its JSON, with the records in any of the shapes the API answers", async () => {
    const header = await receiptOf();
    const path = await file("receipt.txt", `${header}\n`);
    const body = await file("answer.json", JSON.stringify({ records: batch() }));
    const ok = await run("verify-receipt", path, "--jwks", keys.jwksPath, "--record", body);
    expect(ok.stdout).toBe(
      `receipt:      VALID\norganization: ${ORG}\nseq:          15–18\nrecorded at:  ${batch()[0]!.recorded_at}\n` +
        `signature:    valid (kid ${keys.signer.kid})\nrecords:      4, every member matches (leaves_sha256 included)\n`,
    );
    expect(ok.code).toBe(0);
    const decoded = await file("receipt.json", new TextDecoder().decode(fromBase64Url(header)));
    for (const records of [jsonl(batch()), JSON.stringify(batch())]) {
      const res = await runInProcess("verify-receipt", decoded, "--jwks", keys.jwksPath, "--record", await file("records", records));
      expect(res.stdout).toBe(ok.stdout);
    }
    const split = await runInProcess("verify-receipt", path, "--jwks", keys.jwksPath, "--record", await file("a.jsonl", jsonl(batch().slice(0, 1))), "--record", await file("b.json", JSON.stringify(batch().slice(1))));
    expect(split.code).toBe(0);
  });

  it("takes a legacy import's answer as answered: its receipt covers the import record, not the unchained rows", async () => {
    const importRecord = rows[18]!;
    const header = await signedReceipt((await receiptClaimOfRecords(ORG, [importRecord]))!, keys.signer);
    const legacy = { ...rows[0]!, id: randomUUID(), seq: null, prev_hash: null, row_hmac: null };
    const answer = await file("import-answer.json", JSON.stringify({ records: [legacy], import_record: importRecord }));
    const res = await runInProcess("verify-receipt", await file("import-receipt.txt", header), "--jwks", keys.jwksPath, "--record", answer);
    expect(res.stdout).toContain("records:      1, every member matches (leaves_sha256 included)\n");
    expect(res.code).toBe(0);
  });

  it("every flipped byte of a receipt member fails; a changed or missing record is named", async () => {
    const json = new TextDecoder().decode(fromBase64Url(await receiptOf()));
    const body = await file("answer-2.json", JSON.stringify({ records: batch() }));
    const receipt = JSON.parse(json) as Record<string, unknown>;
    let flips = 0;
    for (const [member, value] of Object.entries(receipt)) {
      const text = JSON.stringify(value);
      const at = json.indexOf(`"${member}":${text}`) + member.length + 3;
      for (const { bytes } of flippedBytes(json, at, at + Buffer.byteLength(text))) {
        await writeFile(inDir("flipped-receipt.json"), bytes);
        const res = await runInProcess("verify-receipt", inDir("flipped-receipt.json"), "--jwks", keys.jwksPath, "--record", body);
        expect(res.code, `${member}: ${bytes.toString("utf8")}`).toBe(1);
        expect(linesOf(res.stdout)[0]).toBe("receipt:      INVALID");
        const named = ["first_seq", "last_seq", "organization_id", "recorded_at", "leaves_sha256"].includes(member)
          ? new RegExp(`\\nreason: {7}(${member} differs: .+|.+ is not a receipt: .+)\\n`)
          : /\nreason: {7}(the signature does not verify \(kid .+\): a member was changed, or another key made it|its key .+ is not in the JWKS|.+ is not a receipt: .+)\n/;
        expect(res.stdout, `${member}: ${bytes.toString("utf8")}`).toMatch(named);
        flips++;
      }
    }
    expect(flips).toBe(Object.values(receipt).reduce((n: number, v) => n + Buffer.byteLength(JSON.stringify(v)), 0));
    const edited = batch().map((r, i) => (i === 2 ? { ...r, resource_id: randomUUID() } : r));
    const res = await runInProcess("verify-receipt", await file("receipt-2.json", json), "--jwks", keys.jwksPath, "--record", await file("edited.json", JSON.stringify(edited)));
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain("signature:    valid (kid " + keys.signer.kid + ")");
    expect(res.stdout).toMatch(/\nreason: {7}leaves_sha256 differs: the receipt says [0-9a-f]{64}, the records give [0-9a-f]{64}\n$/);
    const fewer = await runInProcess("verify-receipt", inDir("receipt-2.json"), "--jwks", keys.jwksPath, "--record", await file("fewer.json", JSON.stringify(batch().slice(0, 3))));
    expect(fewer.stdout).toContain("reason:       last_seq differs: the receipt says 18, the records give 17\n");
    const gap = await runInProcess("verify-receipt", inDir("receipt-2.json"), "--jwks", keys.jwksPath, "--record", await file("gap.json", JSON.stringify([batch()[0], batch()[2]])));
    expect(gap.stdout).toContain("reason:       the records are not one run of consecutive seqs (record 2 has seq 17)\n");
    const otherKey = await runInProcess("verify-receipt", inDir("receipt-2.json"), "--jwks", keys.otherJwksPath);
    expect(otherKey.code).toBe(1);
    expect(otherKey.stdout).toContain(`reason:       the signature does not verify (kid ${keys.signer.kid}): a member was changed, or another key made it\n`);
  });
});

// JSON.parse keeps the last of two equal member names: a file that writes one twice reads as the
// genuine answer to the verifier and as another to whoever reads the text. Each input refuses it.
describe("a member name written twice in a proof, a record or a receipt", slow, () => {
  it("verify-proof: in the proof answer, and in the --record file", async () => {
    const answer = JSON.stringify(await inclusionAnswer(ORG, leaves, 12, 21, keys.signer));
    const proof = await file("twice-proof.json", answer.replace("{", '{"leaf_index":3,'));
    const res = await runInProcess("verify-proof", proof, "--jwks", keys.jwksPath);
    expect(res.stdout).toBe("proof:        INVALID\nreason:       the file is malformed: duplicate member leaf_index\n");
    expect(res.code).toBe(1);
    const genuine = await file("twice-genuine-proof.json", answer);
    const record = await file("twice-record.json", JSON.stringify(rows[12], null, 2).replace('"status": "success"', '"status": "failure",\n  "status": "success"'));
    const named = await runInProcess("verify-proof", genuine, "--jwks", keys.jwksPath, "--record", record);
    expect(named.code).toBe(1);
    expect(linesOf(named.stdout)).toContain(`reason:       ${record} is not a record: duplicate member status`);
  });

  it("verify-receipt: in the receipt (its JSON or the header value), and in the --record files", async () => {
    const claim = (await receiptClaimOfRecords(ORG, rows.slice(14, 18)))!;
    const json = new TextDecoder().decode(fromBase64Url(await signedReceipt(claim, keys.signer)));
    const widened = json.replace("{", '{"first_seq":1,"last_seq":999,');
    const body = await file("twice-answer.json", JSON.stringify({ records: rows.slice(14, 18) }));
    for (const [name, text] of [["twice-receipt.json", widened], ["twice-receipt.txt", toBase64Url(new TextEncoder().encode(widened))]] as const) {
      const path = await file(name, text);
      const res = await runInProcess("verify-receipt", path, "--jwks", keys.jwksPath, "--record", body);
      expect(res.stdout, name).toBe(`receipt:      INVALID\nreason:       ${path} is not a receipt: duplicate member first_seq\n`);
      expect(res.code, name).toBe(1);
    }
    const receipt = await file("twice-genuine-receipt.json", json);
    const records = JSON.stringify({ records: rows.slice(14, 18) }).replace('"status":"success"', '"status":"failure","status":"success"');
    const recordFile = await file("twice-records.json", records);
    const res = await runInProcess("verify-receipt", receipt, "--jwks", keys.jwksPath, "--record", recordFile);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain(`reason:       ${recordFile} is not a record file: duplicate member status`);
  });
});
