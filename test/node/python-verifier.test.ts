import { spawnSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type AuditRecord, canonicalRow } from "../../src/audit/chain/record";
import { forgeReport, jsonl, keyId, legacyRow, linesOf, newSigner, runProgram, sealChain as sealRows, signedReportBody, slow, tempDir } from "./cli-helpers";
import { runInProcess } from "./tree-fixtures";

// docs/verify.py is the standard-library verifier an auditor runs; these cases feed it files made by
// the project's own sealing and signing code, so the script and the server cannot drift apart.
const SCRIPT = fileURLToPath(new URL("../../docs/verify.py", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const hasPython = spawnSync("python3", ["--version"]).status === 0;
if (!hasPython) console.warn("python3 is not installed: the docs/verify.py tests are skipped");

const python = (...args: string[]) => runProgram("python3", args);
const verify = (...args: string[]) => python(SCRIPT, ...args);

const { file, inDir } = tempDir();
const ORG = randomUUID();

describe.skipIf(!hasPython)("docs/verify.py report", slow, () => {
  const KEY = "5c".repeat(32);

  /** The body exactly as the Worker builds it, attestation included. */
  const reportBody = async () => (await signedReportBody(ORG, KEY, "cd".repeat(32))).body;
  /** The same, with a JWKS file that publishes its attestation key. */
  const attested = async (name: string) => {
    const { body, jwks } = await signedReportBody(ORG, KEY, "cd".repeat(32));
    return { body, kid: JSON.parse(body).attestation.kid as string, jwks: await file(`${name}-jwks.json`, jwks) };
  };
  const UNCHECKED =
    "reason:       the report carries an Ed25519 attestation, which could not be checked without the public keys: pass --jwks FILE " +
    "(GET /.well-known/jwks.json). The HMAC alone shows only that a holder of the organization's verification key (any org_admin) made the report\n";
  const NOTE =
    "note:         the report carries no attestation: its HMAC shows only that a holder of the organization's verification key (any org_admin) " +
    "made it, not that chainproof did. A deployment with a checkpoint key attests every report; check such a report with --jwks FILE, which " +
    "then requires the attestation\n";

  it("accepts the report as signed with its attestation checked, and rejects one changed byte or a wrong key", async () => {
    const { body, kid, jwks } = await attested("genuine");
    const ok = await verify("report", await file("report.json", body), "--key", KEY, "--jwks", jwks);
    expect(ok.stdout).toBe(`report:       VALID\nhmac:         valid\nattestation:  valid (kid ${kid})\n`);
    expect(ok.code).toBe(0);
    // Without the public keys the attestation, which alone shows who made the report, is unchecked.
    const unchecked = await verify("report", await file("report.json", body), "--key", KEY);
    expect(unchecked.stdout).toBe(
      `report:       NOT VERIFIED\nhmac:         valid\nattestation:  present (kid ${kid}), NOT CHECKED: pass --jwks FILE\n${UNCHECKED}`,
    );
    expect(unchecked.code).toBe(1);

    const at = body.indexOf("Zürich");
    const MISMATCH = "report:       INVALID\nreason:       signature mismatch: the report bytes were altered, or this is not the organization's key\n";
    const changed = await verify("report", await file("changed.json", body.slice(0, at) + "Y" + body.slice(at + 1)), "--key", KEY);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toBe(MISMATCH);
    const wrongKey = await verify("report", await file("report2.json", body), "--key", "5d".repeat(32));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toBe(MISMATCH);
  });

  it("rejects a report an org_admin changed and re-signed with the verification key, its old attestation kept or dropped", async () => {
    const { body, kid, jwks } = await attested("forged");
    const change: [string, string] = ['"retention_enforced":false', '"retention_enforced":true'];
    const kept = await file("forged-kept.json", forgeReport(body, KEY, change, "keep"));
    const dropped = await file("forged-dropped.json", forgeReport(body, KEY, change, "drop"));
    const [keptPlain, keptJwks, droppedPlain, droppedJwks] = await Promise.all([
      verify("report", kept, "--key", KEY),
      verify("report", kept, "--key", KEY, "--jwks", jwks),
      verify("report", dropped, "--key", KEY),
      verify("report", dropped, "--key", KEY, "--jwks", jwks),
    ]);
    expect(keptPlain.stdout).toBe(`report:       NOT VERIFIED\nhmac:         valid\nattestation:  present (kid ${kid}), NOT CHECKED: pass --jwks FILE\n${UNCHECKED}`);
    expect(keptPlain.code).toBe(1);
    expect(keptJwks.stdout).toBe(
      `report:       INVALID\nhmac:         valid\nattestation:  INVALID (kid ${kid})\nreason:       attestation signature does not verify over the report bytes\n`,
    );
    expect(keptJwks.code).toBe(1);
    expect(droppedJwks.stdout).toBe(
      "report:       INVALID\nhmac:         valid\nattestation:  ABSENT (required with --jwks)\n" +
        "reason:       the report has no attestation, and its issuer attests every report: the HMAC alone does not show who made it\n",
    );
    expect(droppedJwks.code).toBe(1);
    // Without --jwks a dropped attestation looks like a deployment that issues none: VALID on the HMAC, with the note.
    expect(droppedPlain.stdout).toBe(`report:       VALID\nhmac:         valid\nattestation:  absent\n${NOTE}`);
    expect(droppedPlain.code).toBe(0);
  });

  it("checks the attestation by kid: another key under that kid, an unknown kid, a malformed attestation", async () => {
    const { body, kid } = await attested("kid");
    const path = await file("kid-report.json", body);
    const other = await file("other-jwks.json", JSON.stringify({ keys: [{ ...(await newSigner()).publicJwk, kid }] }));
    const foreign = await verify("report", path, "--key", KEY, "--jwks", other);
    expect(foreign.code).toBe(1);
    expect(linesOf(foreign.stdout)).toContain(`attestation:  INVALID (kid ${kid})`);
    const unknown = await verify("report", path, "--key", KEY, "--jwks", await file("unknown-jwks.json", JSON.stringify({ keys: [(await newSigner()).publicJwk] })));
    expect(unknown.code).toBe(1);
    expect(linesOf(unknown.stdout)).toContain(`reason:       attestation key ${JSON.stringify(kid)} is not among the published keys`);
    const malformed = body.replace('"algorithm":"Ed25519"', '"algorithm":"none"');
    const bad = await verify("report", await file("malformed-attestation.json", malformed), "--key", KEY);
    expect(bad.code).toBe(1);
    expect(linesOf(bad.stdout)[0]).toBe("report:       INVALID");
    expect(bad.stdout).toContain('reason:       attestation must be {"algorithm":"Ed25519","kid":…,"value":…}');
  });

  it("implements Ed25519 verification (RFC 8032 §5.1.7): the §7.1 vectors, tampered messages and signatures", async () => {
    const check = `
import sys
sys.path.insert(0, "docs")
from verify import ed25519_verify, ED_L
vectors = [  # RFC 8032 §7.1 TEST 1, 2, 3 and SHA(abc): public key, message, signature
  ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
   "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
  ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
   "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
  ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
   "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
  ("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
   "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
   "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]
for pk, msg, sig in vectors:
    pk, msg, sig = bytes.fromhex(pk), bytes.fromhex(msg), bytes.fromhex(sig)
    assert ed25519_verify(pk, msg, sig)
    assert not ed25519_verify(pk, msg + b"!", sig)                       # a byte appended
    assert not ed25519_verify(pk, b"x" + msg[1:], sig)                   # a byte changed (TEST 1: one added)
    for i in (0, 31, 32, 63):                                            # R and S, each end
        assert not ed25519_verify(pk, msg, sig[:i] + bytes([sig[i] ^ 1]) + sig[i + 1:])
    assert not ed25519_verify(pk[:31] + bytes([pk[31] ^ 1]), msg, sig)  # another key
    s = int.from_bytes(sig[32:], "little")                               # S + L: the same point, not canonical
    assert not ed25519_verify(pk, msg, sig[:32] + (s + ED_L).to_bytes(32, "little"))
    assert not ed25519_verify(pk, msg, sig[:63]) and not ed25519_verify(pk[:31], msg, sig)
print("ok")`;
    const res = await python("-c", check);
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe("ok\n");
  });

  it("rejects files that a JSON reader would read as another report than the signed bytes", async () => {
    const body = await reportBody();
    const forged = body.slice(0, -1) + ',"report":{"organization_id":"' + ORG + '","all_services_eu_residency":true}}';
    const appended = await verify("report", await file("forged.json", forged), "--key", KEY);
    expect(appended.code).toBe(1);
    const twice = "report:       INVALID\nreason:       not a strict JSON file: a member name appears twice in one object\n";
    expect(appended.stdout).toBe(twice);

    const nested = body.replace('"service_count":0', '"service_count":0,"service_count":9');
    expect(nested).not.toBe(body);
    const inner = await verify("report", await file("nested.json", nested), "--key", KEY);
    expect(inner.code).toBe(1);
    expect(inner.stdout).toBe(twice);
    const reordered = JSON.stringify({ signature: JSON.parse(body).signature, report: JSON.parse(body).report });
    const swapped = await verify("report", await file("reordered.json", reordered), "--key", KEY);
    expect(swapped.code).toBe(1);
    expect(swapped.stdout).toBe(
      'report:       INVALID\nreason:       the top level must be exactly "report", "signature" and optionally "attestation", in order\n',
    );
    const trailing = await verify("report", await file("trailing.json", body + '{"x":1}'), "--key", KEY);
    expect(linesOf(trailing.stdout)[1]).toMatch(/^reason: {7}not a strict JSON file: Extra data: line 1 column \d+ \(char \d+\)$/);
    expect(trailing.code).toBe(1);
  });

  it("usage errors exit 2", async () => {
    expect((await verify("report", inDir("absent.json"), "--key", KEY)).code).toBe(2);
    expect((await verify("report", await file("r.json", "{}"), "--key", "not-hex")).code).toBe(2);
    const path = await file("usage-report.json", await reportBody());
    const noJwks = await verify("report", path, "--key", KEY, "--jwks", inDir("absent-jwks.json"));
    expect(noJwks.code).toBe(2);
    expect(noJwks.stderr).toContain(`cannot read ${inDir("absent-jwks.json")}`);
    const notJwks = await verify("report", path, "--key", KEY, "--jwks", await file("not-jwks.json", '{"keys":{}}'));
    expect(notJwks.code).toBe(2);
    expect(notJwks.stderr).toContain("must look like {\"keys\":[{\"kid\":…,\"x\":…}]}");
    const onChain = await verify("chain", await file("c.jsonl", ""), "--key", KEY, "--jwks", await file("j.json", '{"keys":[]}'));
    expect(onChain.code).toBe(2);
    expect(onChain.stderr).toContain("--jwks belongs to report");
  });
});

describe.skipIf(!hasPython)("docs/verify.py chain", slow, () => {
  const KEY_A = "audit-key-alpha";
  const KEY_B = "audit-key-bravo";
  // Keys whose UTF-16 order differs from their code-point order, and numbers JCS formats the ECMAScript way.
  const metadata = (seq: number) => ({ "\uFFFD": seq, "😀": "é ✓", n: 1.5e-7, big: 1e21, third: 1 / 3, list: [true, null, -0.5] });
  const sealChain = (n: number, keyFor: (seq: number) => string, shape: (seq: number) => Partial<AuditRecord> = () => ({})) =>
    sealRows(n, { org: ORG, keyFor, shape: (seq) => ({ ip_address: "2001:db8::7", metadata: metadata(seq), ...shape(seq) }) });
  const legacy = () => legacyRow(ORG, { "ä": 1 });
  const rotation = { source: "chainproof", previous_key_id: keyId(KEY_A), new_key_id: keyId(KEY_B) };
  /** An import record at seq 1 covering `imported`, and a key rotation at seq 11. */
  function genuineChain(imported: AuditRecord[]) {
    const content_sha256 = createHash("sha256").update(imported.map((r) => canonicalRow(r)).join("\n"), "utf8").digest("hex");
    const statement = { source: "chainproof", via: "basic", role: "super_admin", legacy_records: imported.length, ids: imported.map((r) => r.id), content_sha256 };
    return sealChain(20, (seq) => (seq <= 10 ? KEY_A : KEY_B), (seq) =>
      seq === 1 ? { action: "import", resource_type: "audit_log", metadata: statement } : seq === 11 ? { action: "key_rotate", metadata: rotation } : {},
    );
  }

  it("accepts a genuine export with a key rotation and covered legacy rows", async () => {
    const imported = [legacy(), legacy()];
    const rows = genuineChain(imported);
    const res = await verify("chain", await file("valid.jsonl", jsonl([imported[0], ...rows, imported[1]])), "--key", KEY_A, "--key", KEY_B);
    expect(res.stdout).toBe("chain:        VALID\nrows:         20 verified, 2 unchained\n");
    expect(res.code).toBe(0);
    const stray = legacy();
    const planted = await verify("chain", await file("planted.jsonl", jsonl([...rows, ...imported, stray])), "--key", KEY_A, "--key", KEY_B);
    expect(planted.code).toBe(1);
    expect(planted.stdout).toBe(`chain:        INVALID\nrows:         20 verified, 3 unchained\nfirst break:  id ${stray.id}: unchained row not covered by an import\n`);
  });

  it("names the seq of a tampered row, and of a row sealed outside its key epoch", async () => {
    const rows = genuineChain([]);
    const tampered = rows.map((r) => (r.seq === 7 ? { ...r, metadata: { ...r.metadata, n: 1.5e-6 } } : r));
    const res = await verify("chain", await file("tampered.jsonl", jsonl(tampered)), "--key", KEY_A, "--key", KEY_B);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe(`chain:        INVALID\nrows:         6 verified, 0 unchained\nfirst break:  seq 7, id ${rows[6]!.id}, line 7: row_hmac mismatch\n`);

    // Sealed with the retired key after the rotation record closed its epoch.
    const late = sealChain(14, (seq) => (seq <= 10 || seq === 14 ? KEY_A : KEY_B), (seq) => (seq === 11 ? { action: "key_rotate", metadata: rotation } : {}));
    const epoch = await verify("chain", await file("epoch.jsonl", jsonl(late)), "--key", KEY_A, "--key", KEY_B);
    expect(epoch.code).toBe(1);
    expect(linesOf(epoch.stdout)).toContain(`first break:  seq 14, id ${late[13]!.id}, line 14: key_id out of epoch`);
    const unknown = await verify("chain", await file("unknown.jsonl", jsonl(rows)), "--key", KEY_A);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe(`chain:        INVALID\nrows:         10 verified, 0 unchained\nfirst break:  seq 11, id ${rows[10]!.id}, line 11: unknown key_id\n`);
  });

  /** The first break the script names in `text`, which must be the CLI's own, both answers INVALID. */
  async function sameBreak(name: string, text: string) {
    const path = await file(name, text);
    const script = await verify("chain", path, "--key", KEY_A, "--key", KEY_B);
    const cli = await runInProcess("verify-chain", path, "--key", KEY_A, "--key", KEY_B);
    expect([script.code, cli.code], name).toEqual([1, 1]);
    expect(linesOf(script.stdout)[0]).toBe("chain:        INVALID");
    const named = linesOf(script.stdout).find((l) => l.startsWith("first break:"));
    expect(linesOf(cli.stdout), name).toContain(named);
    return named;
  }
  /** `text` with line `n` (1-based) replaced by `edit(line)`. */
  function editLine(text: string, n: number, edit: (line: string) => string) {
    const lines = text.split("\n");
    const edited = edit(lines[n - 1]!);
    expect(edited).not.toBe(lines[n - 1]);
    lines[n - 1] = edited;
    return lines.join("\n");
  }

  it("refuses what the CLI refuses, naming the same record: repeated ids, repeated names, other members, no records", async () => {
    const imported = [legacy(), legacy()];
    const rows = genuineChain(imported);
    const genuine = jsonl([...rows, ...imported]);
    const crlf = await verify("chain", await file("crlf.jsonl", genuine.replaceAll("\n", "\r\n")), "--key", KEY_A, "--key", KEY_B);
    expect(crlf.stdout).toBe("chain:        VALID\nrows:         20 verified, 2 unchained\n");

    expect(await sameBreak("legacy-twice.jsonl", genuine + jsonl([imported[1]]))).toBe(`first break:  id ${imported[1]!.id}, line 23: duplicate record id`);
    const chainedTwice = jsonl([...rows.slice(0, 5), rows[4], ...rows.slice(5), ...imported]);
    expect(await sameBreak("chained-twice.jsonl", chainedTwice)).toBe(`first break:  seq 5, id ${rows[4]!.id}, line 6: duplicate record id`);

    const edits: [string, (line: string) => string, string][] = [
      ["status", (l) => l.replace('"status":"success"', '"status":"failure","status":"success"'), "duplicate member status"],
      ["prev-hash", (l) => l.replace("{", `{"prev_hash":"${"0".repeat(64)}",`), "duplicate member prev_hash"],
      ["nested", (l) => l.replace('"n":1.5e-7', '"n":0,"n":1.5e-7'), "duplicate member n"],
      ["extra", (l) => `${l.slice(0, -1)},"note":"approved by CFO"}`, "unexpected member note"],
      ["missing", (l) => l.replace('"site_id":null,', ""), "missing site_id"],
      ["seq-true", (l) => l.replace('"seq":7', '"seq":true'), "seq must be a positive integer or null"],
      ["seq-string", (l) => l.replace('"seq":7', '"seq":"7"'), "seq must be a positive integer or null"],
      ["id-number", (l) => l.replace(/"id":"[^"]+"/, '"id":7'), "id and organization_id must be strings"],
      ["nan", (l) => l.replace('"seq":7', '"seq":NaN'), "not valid JSON"],
      ["array", () => "[]", "not a JSON object"],
      // JSON whitespace, but a line end to Node's readline: both tools split the line there.
      ["lone-cr", (l) => l.replace(',"status":', ',\r"status":'), "not valid JSON"],
    ];
    for (const [name, edit, problem] of edits) {
      expect(await sameBreak(`${name}.jsonl`, editLine(genuine, 7, edit))).toBe(`first break:  line 7: malformed record: ${problem}`);
    }
    expect(await sameBreak("empty.jsonl", "")).toBe("first break:  the file holds no records");
  });

  it("refuses a blank line between records or after the final newline; names an import record stripped of its chain fields as the CLI does", async () => {
    const imported = [legacy(), legacy()];
    const rows = genuineChain(imported);
    const blank = jsonl(rows.slice(0, 10)) + "\n" + jsonl([...rows.slice(10), ...imported]);
    expect(await sameBreak("blank.jsonl", blank)).toBe("first break:  line 11: malformed record: blank line");
    expect(await sameBreak("trailing-blank.jsonl", jsonl([...rows, ...imported]) + "\n")).toBe("first break:  line 23: malformed record: blank line");

    // Unchained, the import record covers nothing: the first row in the file that no import covers is
    // named, as the CLI names it (its id sorts last, so an order by id would name another).
    const stripped = { ...rows[0]!, id: "ffffffff-ffff-4fff-bfff-ffffffffffff", seq: null, key_id: null, prev_hash: null, row_hmac: null };
    const first = jsonl([stripped, ...rows.slice(1), ...imported]);
    expect(await sameBreak("stripped-import.jsonl", first)).toBe(`first break:  id ${stripped.id}: unchained row not covered by an import`);
  });

  it("applies KeyEpochs#admits word for word: a closed epoch stays closed, and a rotation opens only its own key's", async () => {
    const KEY_C = "audit-key-charlie";
    const back = { source: "chainproof", previous_key_id: keyId(KEY_B), new_key_id: keyId(KEY_A) };
    // A full export in which the retired key A, after the rotation at seq 11 closed its epoch, seals a
    // rotation of its own at seq 14 that takes the chain back into its epoch.
    const reopened = sealChain(16, (seq) => (seq <= 10 || seq >= 14 ? KEY_A : KEY_B), (seq) =>
      seq === 11 ? { action: "key_rotate", metadata: rotation } : seq === 14 ? { action: "key_rotate", metadata: back } : {},
    );
    expect(await sameBreak("reopened.jsonl", jsonl(reopened))).toBe(`first break:  seq 14, id ${reopened[13]!.id}, line 14: key_id out of epoch`);
    const cases: [string, Record<string, unknown>][] = [
      ["into-itself", { source: "chainproof", previous_key_id: keyId(KEY_B), new_key_id: keyId(KEY_B) }],
      ["not-sealed-with-the-key-it-opens", { source: "chainproof", previous_key_id: keyId(KEY_B), new_key_id: keyId(KEY_C) }],
    ];
    for (const [name, metadata] of cases) {
      const rows = sealChain(14, (seq) => (seq <= 10 ? KEY_A : KEY_B), (seq) =>
        seq === 11 ? { action: "key_rotate", metadata: rotation } : seq === 13 ? { action: "key_rotate", metadata } : {},
      );
      expect(await sameBreak(`${name}.jsonl`, jsonl(rows)), name).toBe(`first break:  seq 13, id ${rows[12]!.id}, line 13: key_id out of epoch`);
    }
  });

  it("walks a gzipped archive and the live export as one chain, naming the file of a break", async () => {
    const imported = [legacy(), legacy()];
    const rows = genuineChain(imported);
    await writeFile(inDir("archive.jsonl.gz"), gzipSync(jsonl([...rows.slice(0, 12), imported[0]])));
    const live = await file("live.jsonl", jsonl([...rows.slice(12), imported[1]]));
    const res = await verify("chain", inDir("archive.jsonl.gz"), live, "--key", KEY_A, "--key", KEY_B);
    expect(res.stdout).toBe("chain:        VALID\nrows:         20 verified, 2 unchained\n");
    expect(res.code).toBe(0);

    const skipped = await file("skipped.jsonl", jsonl(rows.slice(13)));
    const gap = await verify("chain", inDir("archive.jsonl.gz"), skipped, "--key", KEY_A, "--key", KEY_B);
    expect(gap.code).toBe(1);
    expect(linesOf(gap.stdout)).toContain(`first break:  seq 14, id ${rows[13]!.id}, ${skipped} line 1: seq gap`);

    const corrupt = gzipSync(jsonl(rows.slice(0, 12)));
    corrupt[corrupt.length - 6]! ^= 0x01; // inside the CRC-32 of the gzip trailer
    await writeFile(inDir("corrupt.jsonl.gz"), corrupt);
    const bad = await verify("chain", inDir("corrupt.jsonl.gz"), live, "--key", KEY_A, "--key", KEY_B);
    expect(bad.code).toBe(1);
    expect(linesOf(bad.stdout)[0]).toBe("chain:        INVALID");
    // The zlib detail is Python's own wording (it varies by version): only its start is pinned.
    expect(linesOf(bad.stdout)[1]).toContain(`reason:       ${inDir("corrupt.jsonl.gz")}: not a valid gzip file (CRC check failed`);
    expect(bad.stderr).toBe("");
  });
});

describe.skipIf(!hasPython)("docs/verify.py on the worked example of docs/protocol.md", slow, () => {
  it("verifies the example rows (across the key rotation) and the example report with its attestation", async () => {
    const page = await readFile(join(ROOT, "docs/protocol.md"), "utf8");
    const block = (name: string) => new RegExp(`<!-- example: ${name} -->\n\`\`\`\n([\\s\\S]*?)\n\`\`\``).exec(page)![1]!;
    const rows = [1, 2, 3].map((n) => JSON.parse(block(`row-${n}`)));
    const chain = await verify("chain", await file("example.jsonl", jsonl(rows)), "--key", block("audit-key"), "--key", block("audit-key-2"));
    expect(chain.stdout).toBe("chain:        VALID\nrows:         3 verified, 0 unchained\n");
    const reportFile = await file("example-report.json", block("report-file"));
    const jwks = await file("example-jwks.json", block("jwks"));
    const report = await verify("report", reportFile, "--key", block("verification-key"), "--jwks", jwks);
    expect(report.code).toBe(0);
    expect(report.stdout).toBe(`report:       VALID\nhmac:         valid\nattestation:  valid (kid ${JSON.parse(block("jwks")).keys[0].kid})\n`);
    // The example report is attested: without the JWKS it is not verified.
    const unchecked = await verify("report", reportFile, "--key", block("verification-key"));
    expect(unchecked.code).toBe(1);
    expect(linesOf(unchecked.stdout)[0]).toBe("report:       NOT VERIFIED");
  });
});

describe.skipIf(!hasPython)("docs/verify.py JCS", slow, () => {
  it("matches the RFC 8785 vectors and the ECMAScript number vectors", async () => {
    const check = `
import glob, json, os, struct, sys
sys.path.insert(0, "docs")
from verify import jcs, es_number
for path in sorted(glob.glob("test/vectors/jcs/input/*.json")):
    expected = open(path.replace("/input/", "/output/"), "rb").read()
    assert jcs(json.loads(open(path, encoding="utf-8").read())).encode("utf-8") == expected, path
count = 0
for line in open("test/vectors/jcs/es6testfile-first10000.txt"):
    bits, expected = line.rstrip("\\n").split(",")
    assert es_number(struct.unpack(">d", bytes.fromhex(bits.zfill(16)))[0]) == expected, line
    count += 1
print(count)`;
    const res = await python("-c", check);
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe("10000\n");
  });
});
