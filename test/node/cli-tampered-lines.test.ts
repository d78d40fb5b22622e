import { createHash, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { statementOf } from "../../src/audit/chain/checkpoint-statement";
import { type AuditRecord, canonicalRow } from "../../src/audit/chain/record";
import { jsonl, legacyRow, linesOf, sealChain, signerWithJwks, slow, tempDir } from "./cli-helpers";
import { leavesOf, noteOf, runInProcess, treeOf } from "./tree-fixtures";

// Exports tampered at the level of their lines (a line repeated, deleted, blanked, or a member name
// written twice): each must fail, naming its first bad record, with the audit key and without it.

const { file } = tempDir();
const keys = signerWithJwks(file);
const KEY = "audit-key-alpha";
const ORG = randomUUID();
const legacy = [legacyRow(ORG), legacyRow(ORG)];
const content_sha256 = createHash("sha256").update(legacy.map((r) => canonicalRow(r)).join("\n"), "utf8").digest("hex");
const statement = { source: "chainproof", legacy_records: legacy.length, ids: legacy.map((r) => r.id), content_sha256 };
/** 40 rows whose seq 1 is chainproof's import record of `legacy`. */
const rows: AuditRecord[] = sealChain(40, {
  org: ORG,
  keyFor: () => KEY,
  shape: (seq) => (seq === 1 ? { action: "import", resource_type: "audit_log", metadata: statement } : {}),
});
/** The genuine export: the chain, then the legacy rows its import record covers. */
const genuine = jsonl([...rows, ...legacy]);
let note40 = "";
let item40 = "";
beforeAll(async () => {
  note40 = await noteOf(ORG, await leavesOf(rows), 40, keys.signer);
  const fields = { organization_id: ORG, seq: 40, row_hmac: rows[39]!.row_hmac!, issued_at: "2026-02-01T00:00:00.000Z", kind: "head" as const };
  const signed = statementOf(fields);
  item40 = JSON.stringify({ id: randomUUID(), ...fields, kid: keys.signer.kid, statement: signed, signature: await keys.signer.sign(signed), tree_head: note40 });
});

/** verify-chain with the audit key, and with only the signed tree head (the keyless public check). */
async function bothModes(name: string, text: string) {
  const path = await file(name, text);
  const head = await file(`${name}.note`, note40);
  return {
    keyed: await runInProcess("verify-chain", path, "--key", KEY),
    keyless: await runInProcess("verify-chain", path, "--checkpoint", head, "--jwks", keys.jwksPath),
  };
}

/** The lines of `text` with line `n` (1-based) replaced by `edit(line)`. */
function editLine(text: string, n: number, edit: (line: string) => string) {
  const lines = text.split("\n");
  lines[n - 1] = edit(lines[n - 1]!);
  return lines.join("\n");
}

function expectBreak(res: { code: number; stdout: string }, firstBreak: string) {
  expect(linesOf(res.stdout)[0]).toBe("chain:        INVALID");
  expect(linesOf(res.stdout)).toContain(firstBreak);
  expect(res.code).toBe(1);
}

describe("verify-chain refuses exports whose lines were tampered with", slow, () => {
  it("accepts the genuine export, with a final newline or without, with CRLF line ends", async () => {
    for (const [name, text] of [["lf", genuine], ["no-final-newline", genuine.slice(0, -1)], ["crlf", genuine.replaceAll("\n", "\r\n")]]) {
      const { keyed, keyless } = await bothModes(`genuine-${name}.jsonl`, text!);
      expect(keyed.code, name).toBe(0);
      expect(linesOf(keyed.stdout)).toContain("rows:         40 verified (seq 1–40), 2 unchained");
      expect(keyless.code, name).toBe(0);
      expect(linesOf(keyless.stdout)).toContain("rows:         40 in the tree (seq 1–40), 2 unchained");
    }
  });

  it("a record id that appears twice: a repeated legacy line, a repeated chained line", async () => {
    const twice = await bothModes("legacy-twice.jsonl", jsonl([...rows, ...legacy, legacy[1]]));
    for (const res of [twice.keyed, twice.keyless]) expectBreak(res, `first break:  id ${legacy[1]!.id}, line 43: duplicate record id`);

    const chained = await bothModes("chained-twice.jsonl", jsonl([...rows.slice(0, 5), rows[4], ...rows.slice(5), ...legacy]));
    for (const res of [chained.keyed, chained.keyless]) expectBreak(res, `first break:  seq 5, id ${rows[4]!.id}, line 6: duplicate record id`);
  });

  it("a member name written twice in one line, at the top level or nested", async () => {
    const cases = [
      ["status", (line: string) => line.replace('"status":"success"', '"status":"failure","status":"success"')],
      ["prev_hash", (line: string) => line.replace("{", `{"prev_hash":"${"0".repeat(64)}",`)],
      ["n", (line: string) => line.replace('"metadata":{"n":7,', '"metadata":{"n":700,"n":7,')],
    ] as const;
    for (const [name, edit] of cases) {
      const edited = editLine(genuine, 7, edit);
      expect(edited).not.toBe(genuine);
      const { keyed, keyless } = await bothModes(`duplicate-${name}.jsonl`, edited);
      for (const res of [keyed, keyless]) expectBreak(res, `first break:  line 7: malformed record: duplicate member ${name}`);
    }
  });

  it("a file with no records", async () => {
    const { keyed, keyless } = await bothModes("empty.jsonl", "");
    for (const res of [keyed, keyless]) expectBreak(res, "first break:  the file holds no records");
  });

  it("a blank line between records, or after the final newline", async () => {
    const blank = await bothModes("blank.jsonl", jsonl(rows.slice(0, 10)) + "\n" + jsonl([...rows.slice(10), ...legacy]));
    for (const res of [blank.keyed, blank.keyless]) expectBreak(res, "first break:  line 11: malformed record: blank line");
    const trailing = await bothModes("trailing-blank.jsonl", genuine + "\r\n");
    for (const res of [trailing.keyed, trailing.keyless]) expectBreak(res, "first break:  line 43: malformed record: blank line");
  });

  it("with a checkpoint, a file that starts after seq 1 must carry the evidence before it: the first lines deleted fail", async () => {
    const cut = await file("first-lines-deleted.jsonl", jsonl(rows.slice(3)));
    const item = await file("item-40.json", item40);
    const head = await file("head-40.note", note40);
    const without = "without the evidence before it";

    // The HMAC walk alone would trust seq 4's prev_hash; the checkpoint cannot vouch for what precedes it.
    const hmacOnly = await runInProcess("verify-chain", cut, "--key", KEY, "--checkpoint", item);
    expectBreak(hmacOnly, `first break:  seq 4, id ${rows[3]!.id}, line 1: the checkpoint could not be checked: the file starts at seq 4 ${without} (give the files from seq 1, or the checkpoint's tree head with --jwks and --compact-range FILE)`);
    const tree = `the tree head could not be checked: the file starts at seq 4 ${without} (pass --compact-range FILE: the compact range of the first 3 leaves, which the export or archive carries)`;
    const keyed = await runInProcess("verify-chain", cut, "--key", KEY, "--checkpoint", item, "--jwks", keys.jwksPath);
    expectBreak(keyed, `tree break:   seq 4, id ${rows[3]!.id}, line 1: ${tree}`);
    const keyless = await runInProcess("verify-chain", cut, "--checkpoint", head, "--jwks", keys.jwksPath);
    expectBreak(keyless, `first break:  seq 4, id ${rows[3]!.id}, line 1: ${tree}`);

    // A range export with its compact range (the export's compact_range) is proven against the tree head.
    const range = await file("range-3.json", JSON.stringify((await treeOf(await leavesOf(rows), 3)).compactRange));
    for (const args of [["--key", KEY, "--checkpoint", item], ["--checkpoint", head]]) {
      const res = await runInProcess("verify-chain", cut, ...args, "--jwks", keys.jwksPath, "--compact-range", range);
      expect(linesOf(res.stdout)).toContain("root:         matches the leaves of seq 1–40");
      expect(res.code).toBe(0);
    }
    // Without a checkpoint nothing claims the rows before it: the range verifies, and says what it trusts.
    const plain = await runInProcess("verify-chain", cut, "--key", KEY);
    expect(plain.code).toBe(0);
    expect(linesOf(plain.stdout)).toContain("start:        seq 4: its prev_hash is trusted as the starting link (a range export, or a chain after a prune)");
  });
});

describe("verify-chain without the key answers for every line of the export too", slow, () => {
  // The import record's ids and content_sha256 are in its leaf, so the signed root vouches for them:
  // the coverage of the legacy rows (docs/protocol.md §4) needs no key.
  it("a legacy row edited, deleted or planted breaks the import coverage, as with the key", async () => {
    const edited = await bothModes("legacy-edited.jsonl", jsonl([...rows, { ...legacy[0]!, status: "failure" }, legacy[1]]));
    for (const res of [edited.keyed, edited.keyless]) expectBreak(res, `first break:  seq 1, id ${rows[0]!.id}: imported rows do not match their import record`);
    const deleted = await bothModes("legacy-deleted.jsonl", jsonl([...rows, legacy[0]]));
    for (const res of [deleted.keyed, deleted.keyless]) expectBreak(res, `first break:  id ${legacy[1]!.id}: imported row missing or no longer unchained`);
    const stray = legacyRow(ORG);
    const planted = await bothModes("legacy-planted.jsonl", jsonl([...rows, ...legacy, stray]));
    for (const res of [planted.keyed, planted.keyless]) expectBreak(res, `first break:  id ${stray.id}: unchained row not covered by an import`);
  });

  it("a row appended after the signed tree head's size is not vouched for: INVALID, naming it", async () => {
    const forged: AuditRecord = { ...rows[39]!, id: randomUUID(), seq: 41, status: "failure", prev_hash: rows[39]!.row_hmac, row_hmac: "ab".repeat(32) };
    const { keyed, keyless } = await bothModes("appended.jsonl", jsonl([...rows, forged, ...legacy]));
    expectBreak(keyed, `first break:  seq 41, id ${forged.id}, line 41: row_hmac mismatch`);
    expectBreak(
      keyless,
      `first break:  seq 41, id ${forged.id}, line 41: not covered by the signed tree head, which ends at seq 40: nothing proves this row or the ones after it ` +
        "(check the files against the tree head of their last seq, the one the export carries)",
    );
    expect(linesOf(keyless.stdout)).toContain("root:         matches the leaves of seq 1–40");
  });

  it("a row_hmac or prev_hash changed: the prev_hash links need no key, and the first broken one is named", async () => {
    const relinked = editLine(genuine, 7, (line) => line.replace(rows[6]!.row_hmac!, "cd".repeat(32)));
    const hmac = await bothModes("row-hmac-7.jsonl", relinked);
    expectBreak(hmac.keyed, `first break:  seq 7, id ${rows[6]!.id}, line 7: row_hmac mismatch`);
    expectBreak(hmac.keyless, `first break:  seq 8, id ${rows[7]!.id}, line 8: prev_hash mismatch`);
    const genesis = await bothModes("genesis-link.jsonl", editLine(genuine, 1, (line) => line.replace('"prev_hash":null', `"prev_hash":"${"ef".repeat(32)}"`)));
    for (const res of [genesis.keyed, genesis.keyless]) expectBreak(res, `first break:  seq 1, id ${rows[0]!.id}, line 1: prev_hash mismatch`);
  });
});
