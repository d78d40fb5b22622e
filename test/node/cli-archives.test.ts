import { createHash, createHmac, randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type AuditRecord, canonicalRow } from "../../src/audit/chain/record";
import { anchorForgery, archiveCheck, parseAnchor } from "../../cli/anchor";
import { walkFiles } from "../../cli/chain-walk";
import { jsonl, keyId, legacyRow, linesOf, run, sealChain, slow, tempDir } from "./cli-helpers";

const { file, inDir } = tempDir();

const KEY = "audit-key-alpha";
const KID = keyId(KEY);
const ORG = randomUUID();
const legacy = [legacyRow(ORG), legacyRow(ORG)];

/** A chain whose seq 1 is chainproof's import record of `legacy` (its digest computed here with node:crypto). */
function importedChain(n: number): AuditRecord[] {
  const content_sha256 = createHash("sha256").update(legacy.map((r) => canonicalRow(r)).join("\n"), "utf8").digest("hex");
  const statement = { source: "chainproof", legacy_records: legacy.length, ids: legacy.map((r) => r.id), content_sha256 };
  return sealChain(n, { org: ORG, keyFor: () => KEY, shape: (seq) => (seq === 1 ? { action: "import", resource_type: "audit_log", metadata: statement } : {}) });
}

const rows = importedChain(30);
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** An archive as retention writes it: gzip of the JSONL lines. */
async function gzFile(name: string, lines: AuditRecord[]) {
  const bytes = gzipSync(jsonl(lines));
  await writeFile(inDir(name), bytes);
  return { path: inDir(name), bytes, sha256: sha256(bytes) };
}

type AnchorFields = { through: AuditRecord; archiveSha256: string; prunedCount: number; key?: string; org?: string };

/**
 * The anchor of CRYPTO §3, sealed here with node:crypto: the 9 members written in sorted order are
 * their JCS (ASCII strings and integers only), and anchor_hmac is the HMAC of that text.
 */
function anchorOf({ through, archiveSha256, prunedCount, key = KEY, org = ORG }: AnchorFields) {
  const seq = through.seq!;
  const statement = {
    archive_key: `archives/${org}/1-${seq}.jsonl.gz`, archive_sha256: archiveSha256, created_at: "2026-02-01T03:17:00.000Z", key_id: keyId(key),
    organization_id: org, pruned_count: prunedCount, pruned_through_seq: seq, row_hmac: through.row_hmac!, type: "chainproof.anchor.v1",
  };
  const anchor_hmac = createHmac("sha256", key).update(JSON.stringify(statement), "utf8").digest("hex");
  const { type, organization_id, pruned_through_seq, row_hmac, pruned_count, archive_key, archive_sha256, created_at, key_id } = statement;
  return { type, organization_id, pruned_through_seq, row_hmac, pruned_count, archive_key, archive_sha256, created_at, key_id, anchor_hmac };
}

const anchorFile = (name: string, anchor: object) => file(name, JSON.stringify(anchor));

describe("verify-chain over archives and the live export", slow, () => {
  it("archive + live export verify as one chain; the anchor's archive matches byte for byte; order matters", async () => {
    const archive = await gzFile("one-archive.jsonl.gz", [...rows.slice(0, 20), legacy[0]!]);
    // A legacy row may sit in another file than its import record: coverage is checked over all files.
    const live = await file("one-live.jsonl", jsonl([...rows.slice(20), legacy[1]!]));
    const anchor = await anchorFile("one-anchor.json", anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 21 }));
    const res = await run("verify-chain", archive.path, live, "--key", KEY, "--anchor", anchor);
    expect(res.stdout).toBe(
      `chain:        VALID\norganization: ${ORG}\n` +
        `file:         ${archive.path}: seq 1–20, 1 unchained, gzip\nfile:         ${live}: seq 21–30, 1 unchained\n` +
        `rows:         30 verified (seq 1–30), 2 unchained\nstart:        genesis (seq 1, prev_hash null)\nkeys:         ${KID}\n` +
        `anchor:       seq 20, hmac valid (key_id ${KID}), archive matches anchor (${archive.path}), pruned_count 21 matches\n`,
    );
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);

    const reversed = await run("verify-chain", live, archive.path, "--key", KEY);
    expect(reversed.code).toBe(1);
    expect(linesOf(reversed.stdout)).toContain(`first break:  seq 1, id ${rows[0]!.id}, ${archive.path} line 1: seq out of order`);
  });

  it("two archives and the live export, each anchor checked; a missing middle archive is a seq gap in the next file", async () => {
    const first = await gzFile("two-a1.jsonl.gz", [...rows.slice(0, 10), legacy[0]!, legacy[1]!]);
    const second = await gzFile("two-a2.jsonl.gz", rows.slice(10, 20));
    const live = await file("two-live.jsonl", jsonl(rows.slice(20)));
    const a1 = await anchorFile("two-anchor-1.json", anchorOf({ through: rows[9]!, archiveSha256: first.sha256, prunedCount: 12 }));
    const a2 = await anchorFile("two-anchor-2.json", anchorOf({ through: rows[19]!, archiveSha256: second.sha256, prunedCount: 22 }));
    const res = await run("verify-chain", first.path, second.path, live, "--key", KEY, "--anchor", a1, "--anchor", a2);
    expect(res.code).toBe(0);
    expect(linesOf(res.stdout)).toEqual([
      "chain:        VALID",
      `organization: ${ORG}`,
      `file:         ${first.path}: seq 1–10, 2 unchained, gzip`,
      `file:         ${second.path}: seq 11–20, gzip`,
      `file:         ${live}: seq 21–30`,
      "rows:         30 verified (seq 1–30), 2 unchained",
      "start:        genesis (seq 1, prev_hash null)",
      `keys:         ${KID}`,
      `anchor:       seq 10, hmac valid (key_id ${KID}), archive matches anchor (${first.path}), pruned_count 12 matches`,
      `anchor:       seq 20, hmac valid (key_id ${KID}), archive matches anchor (${second.path}), pruned_count 22 matches`,
      "",
    ]);

    // From the second archive on, the legacy rows of the first are gone with it: nothing covers them, nothing needs to.
    const later = await run("verify-chain", second.path, live, "--key", KEY, "--anchor", a2);
    expect(later.code).toBe(0);
    expect(linesOf(later.stdout)).toContain(
      `anchor:       seq 20, hmac valid (key_id ${KID}), archive matches anchor (${second.path}), pruned_count not checked (the files start at seq 11)`,
    );

    const gap = await run("verify-chain", first.path, live, "--key", KEY);
    expect(gap.code).toBe(1);
    expect(linesOf(gap.stdout)).toContain(`first break:  seq 21, id ${rows[20]!.id}, ${live} line 1: seq gap`);
  });

  it("a live export that does not link to the archive names its first row; an anchor naming another row_hmac is a break", async () => {
    const archive = await gzFile("link-archive.jsonl.gz", [...rows.slice(0, 20), legacy[0]!, legacy[1]!]);
    // A rewritten history: sealed with the right key, but from another row 20.
    const rewritten = importedChain(30).slice(20);
    const live = await file("link-live.jsonl", jsonl(rewritten));
    const res = await run("verify-chain", archive.path, live, "--key", KEY);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)).toContain("chain:        INVALID");
    expect(linesOf(res.stdout)).toContain(`first break:  seq 21, id ${rewritten[0]!.id}, ${live} line 1: prev_hash mismatch`);

    const otherRow = importedChain(20)[19]!;
    const wrongRow = await anchorFile("link-anchor.json", anchorOf({ through: otherRow, archiveSha256: archive.sha256, prunedCount: 22 }));
    const anchored = await run("verify-chain", archive.path, "--key", KEY, "--anchor", wrongRow);
    expect(anchored.code).toBe(1);
    expect(linesOf(anchored.stdout)).toContain(
      `first break:  seq 20, id ${rows[19]!.id}, line 20: anchor mismatch (the anchor names another row_hmac for this seq)`,
    );
  });

  it("a changed byte in a gzipped archive is invalid and names the file, without a stack trace", async () => {
    const archive = await gzFile("byte-archive.jsonl.gz", [...rows.slice(0, 20), legacy[0]!, legacy[1]!]);
    const live = await file("byte-live.jsonl", jsonl(rows.slice(20)));
    const crc = Buffer.from(archive.bytes);
    crc[crc.length - 6]! ^= 0x01; // inside the CRC-32 of the gzip trailer
    await writeFile(inDir("byte-crc.jsonl.gz"), crc);
    const res = await run("verify-chain", inDir("byte-crc.jsonl.gz"), live, "--key", KEY);
    expect(res.code).toBe(1);
    expect(linesOf(res.stdout)[0]).toBe("chain:        INVALID");
    expect(linesOf(res.stdout)).toContain(`first break:  ${inDir("byte-crc.jsonl.gz")}: not a valid gzip file (incorrect data check)`);
    expect(res.stderr).toBe("");

    const middle = Buffer.from(archive.bytes);
    middle[Math.floor(middle.length / 2)]! ^= 0x01;
    await writeFile(inDir("byte-middle.jsonl.gz"), middle);
    const mid = await run("verify-chain", inDir("byte-middle.jsonl.gz"), live, "--key", KEY);
    expect(mid.code).toBe(1);
    expect(linesOf(mid.stdout).find((l) => l.startsWith("first break:  "))).toContain(inDir("byte-middle.jsonl.gz"));
    expect(mid.stderr).toBe("");

    // The gzip header's MTIME is outside its CRC: the rows still verify, the archive's SHA-256 does not.
    const mtime = Buffer.from(archive.bytes);
    mtime[4]! ^= 0x01;
    await writeFile(inDir("byte-mtime.jsonl.gz"), mtime);
    const anchor = await anchorFile("byte-anchor.json", anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 22 }));
    const stamped = await run("verify-chain", inDir("byte-mtime.jsonl.gz"), live, "--key", KEY, "--anchor", anchor);
    expect(stamped.code).toBe(1);
    expect(linesOf(stamped.stdout)).toContain("rows:         30 verified (seq 1–30), 2 unchained");
    expect(linesOf(stamped.stdout)).toContain(
      `anchor:       seq 20, hmac valid (key_id ${KID}), archive does not match its anchor ` +
        `(${inDir("byte-mtime.jsonl.gz")} has sha256 ${sha256(mtime)}, the anchor names ${archive.sha256})`,
    );
  });

  it("an anchor that is not chainproof's, a missing archive or a wrong pruned_count is invalid", async () => {
    const archive = await gzFile("anchor-archive.jsonl.gz", [...rows.slice(0, 20), legacy[0]!, legacy[1]!]);
    const live = await file("anchor-live.jsonl", jsonl(rows.slice(20)));
    const genuine = anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 22 });
    const verify = async (name: string, anchor: object, ...files: string[]) =>
      run("verify-chain", ...(files.length > 0 ? files : [archive.path, live]), "--key", KEY, "--anchor", await anchorFile(name, anchor));

    const edited = await verify("anchor-edited.json", { ...genuine, pruned_count: 21 });
    expect(edited.stdout).toBe(`chain:        INVALID\nanchor:       ${inDir("anchor-edited.json")} is not authentic: anchor_hmac mismatch\n`);
    expect(edited.code).toBe(1);
    const foreignKey = await verify("anchor-key.json", anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 22, key: "another-key" }));
    expect(foreignKey.stdout).toBe(
      `chain:        INVALID\nanchor:       ${inDir("anchor-key.json")} cannot be checked: unknown key_id ${keyId("another-key")} (none of the --keys has it)\n`,
    );
    expect(foreignKey.code).toBe(1);
    const extra = await verify("anchor-extra.json", { ...genuine, note: "x" });
    expect(extra.stdout).toBe(`chain:        INVALID\nanchor:       ${inDir("anchor-extra.json")} is not an anchor: unexpected member note\n`);
    expect(extra.code).toBe(1);
    const otherOrg = await verify("anchor-org.json", anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 22, org: randomUUID() }));
    expect(otherOrg.code).toBe(1);
    expect(linesOf(otherOrg.stdout)).toContain(
      `first break:  seq 1, id ${rows[0]!.id}, ${archive.path} line 1: anchor mismatch (the anchor of seq 20 belongs to another organization)`,
    );

    const liveOnly = await verify("anchor-live-only.json", genuine, live);
    expect(liveOnly.code).toBe(1);
    expect(linesOf(liveOnly.stdout)).toContain("chain:        INVALID");
    expect(linesOf(liveOnly.stdout)).toContain(
      `anchor:       seq 20, hmac valid (key_id ${KID}), its archive is not among the files (none ends at seq 20; archive_key archives/${ORG}/1-20.jsonl.gz)`,
    );
    const miscounted = await verify("anchor-count.json", anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 20 }));
    expect(miscounted.code).toBe(1);
    expect(linesOf(miscounted.stdout)).toContain(
      `anchor:       seq 20, hmac valid (key_id ${KID}), archive matches anchor (${archive.path}), pruned_count 20 does not match (the files hold 22 rows through seq 20)`,
    );
  });

  it("usage errors exit 2: a missing anchor file, --anchor on verify-report", async () => {
    const live = await file("usage-live.jsonl", jsonl(rows.slice(20)));
    const missing = await run("verify-chain", live, "--key", KEY, "--anchor", inDir("absent.json"));
    expect(missing.code).toBe(2);
    expect(linesOf(missing.stderr)[0]).toBe(`chainproof: cannot read anchor ${inDir("absent.json")}: no such file`);
    const report = await run("verify-report", live, "--key", "5c".repeat(32), "--anchor", inDir("absent.json"));
    expect(report.code).toBe(2);
    expect(linesOf(report.stderr)[0]).toBe("chainproof: --anchor belongs to verify-chain");
  });
});

describe("a prune anchor file that writes a member name twice", slow, () => {
  it("is not an anchor: JSON.parse would read the last of the two, a reader of the file the first", async () => {
    const archive = await gzFile("twice-archive.jsonl.gz", [...rows.slice(0, 20), legacy[0]!, legacy[1]!]);
    const live = await file("twice-live.jsonl", jsonl(rows.slice(20)));
    const genuine = JSON.stringify(anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 22 }));
    const twice = await file("twice-anchor.json", genuine.replace("{", '{"pruned_count":999,'));
    const res = await run("verify-chain", archive.path, live, "--key", KEY, "--anchor", twice);
    expect(res.stdout).toBe(`chain:        INVALID\nanchor:       ${twice} is not an anchor: duplicate member pruned_count\n`);
    expect(res.code).toBe(1);
    expect(parseAnchor(genuine.replace('"archive_key"', '"archive_key":"elsewhere","archive_key"'))).toBe("duplicate member archive_key");
  });
});

describe("every edited byte is caught (in process)", () => {
  const hasher = (id: string, message: string) => (id === KID ? createHmac("sha256", KEY).update(message, "utf8").digest("hex") : null);

  it("of the anchor file: it no longer parses as an anchor, or its HMAC fails", async () => {
    const text = JSON.stringify(anchorOf({ through: rows[19]!, archiveSha256: "ab".repeat(32), prunedCount: 22 }));
    const genuine = parseAnchor(text);
    expect(typeof genuine).toBe("object");
    expect(await anchorForgery(genuine as Exclude<typeof genuine, string>, hasher)).toBeNull();
    const bytes = Buffer.from(text, "utf8");
    let caught = 0;
    for (let i = 0; i < bytes.length; i++) {
      const edited = Buffer.from(bytes);
      edited[i]! ^= 0x01;
      const anchor = parseAnchor(edited.toString("utf8"));
      if (typeof anchor === "string" || (await anchorForgery(anchor, hasher)) !== null) caught++;
    }
    expect(caught).toBe(bytes.length);
  });

  it("of a gzipped archive: the walk breaks or the archive no longer matches its anchor", async () => {
    const archive = await gzFile("flip-archive.jsonl.gz", [...rows.slice(0, 20), legacy[0]!, legacy[1]!]);
    const anchor = parseAnchor(JSON.stringify(anchorOf({ through: rows[19]!, archiveSha256: archive.sha256, prunedCount: 22 })));
    if (typeof anchor === "string") throw new Error(anchor);
    const pins = { checkpoints: new Map(), anchors: new Map([[20, [anchor.row_hmac]]]), owners: [] };
    const intact = await walkFiles([archive.path], hasher, pins);
    expect(intact.found).toBeNull();
    expect(archiveCheck(anchor, intact).ok).toBe(true);
    const missedByTheWalk: number[] = [];
    let caught = 0;
    for (let i = 0; i < archive.bytes.length; i++) {
      const edited = Buffer.from(archive.bytes);
      edited[i]! ^= 0x01;
      await writeFile(inDir("flipped.jsonl.gz"), edited);
      const walk = await walkFiles([inDir("flipped.jsonl.gz")], hasher, pins);
      if (walk.found === null) missedByTheWalk.push(i);
      if (walk.found !== null || !archiveCheck(anchor, walk).ok) caught++;
    }
    expect(caught).toBe(archive.bytes.length);
    // Only the gzip header's FLG (the FTEXT hint), MTIME, XFL and OS bytes lie outside its CRC: there the anchor's SHA-256 catches it.
    expect(missedByTheWalk).toEqual([3, 4, 5, 6, 7, 8, 9]);
  }, 120_000);
});
