import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/crypto/encoding";
import { call, type LocalWorker, startLocalWorker } from "./browser-server";
import { jsonl, linesOf, run, runProgram, sealChain, signerWithJwks, tempDir } from "./cli-helpers";
import { consistencyAnswer, flippedBytes, inclusionAnswer, leavesOf, noteOf, treeOf } from "./tree-fixtures";

// docs/verify_proof.py does the Merkle math, reads the notes and checks their Ed25519 signatures
// (verify.py's pure-Python RFC 8032) with the standard library only.
const SCRIPT = fileURLToPath(new URL("../../docs/verify_proof.py", import.meta.url));
const hasPython = spawnSync("python3", ["--version"]).status === 0;
if (!hasPython) console.warn("python3 is not installed: the docs/verify_proof.py tests are skipped");
const verify = (...args: string[]) => runProgram("python3", [SCRIPT, ...args]);

const { file, inDir } = tempDir();
const keys = signerWithJwks(file);

describe.skipIf(!hasPython)("docs/verify_proof.py on answers built with the project's tree code", { timeout: 180_000 }, () => {
  const ORG = randomUUID();
  const rows = sealChain(13, { org: ORG, keyFor: () => "k" });

  it("verifies an inclusion proof (and its record), a consistency proof and a tree head; a flipped hash fails", async () => {
    const leaves = await leavesOf(rows);
    const inclusion = await inclusionAnswer(ORG, leaves, 9, 13, keys.signer);
    const proof = await file("inclusion.json", JSON.stringify(inclusion));
    const root = toHex((await treeOf(leaves, 13)).root);
    const ok = await verify("inclusion", proof, "--record", await file("record.json", JSON.stringify(rows[9])), "--jwks", keys.jwksPath);
    expect(ok.stdout).toBe(
      `proof:        VALID\norganization: ${ORG}\ntree head:    size 13, root ${root}\ninclusion:    leaf 9 (seq 10), ${inclusion.inclusion.length} hashes: valid\n` +
        `record:       seq 10, id ${rows[9]!.id}, leaf hash matches\n` +
        `signature:    Ed25519 by kid ${keys.signer.kid}: valid\n`,
    );
    expect(ok.code).toBe(0);

    const text = JSON.stringify(inclusion);
    const at = text.indexOf(inclusion.inclusion[1]!);
    // Every fourth byte: each run starts a Python process.
    for (const { bytes } of [...flippedBytes(text, at, at + 64)].filter((_, i) => i % 4 === 0)) {
      await writeFile(inDir("flipped.json"), bytes);
      const res = await verify("inclusion", inDir("flipped.json"), "--jwks", keys.jwksPath);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/\nreason: {7}(the inclusion proof of leaf 9 does not verify against the tree head's root|inclusion\[1\] is not 64 lowercase hex characters)\n$/);
    }
    const edited = await verify("inclusion", proof, "--record", await file("edited.json", JSON.stringify({ ...rows[9]!, status: "failure" })), "--jwks", keys.jwksPath);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain("the record is not the one proven");

    const consistency = await file("consistency.json", JSON.stringify(await consistencyAnswer(ORG, leaves, 5, 13, keys.signer)));
    const older = await file("head5.note", await noteOf(ORG, leaves, 5, keys.signer));
    const cons = await verify("consistency", consistency, "--first", older, "--jwks", keys.jwksPath);
    expect(cons.code).toBe(0);
    expect(linesOf(cons.stdout)).toContain(`older head:   size 5, root ${toHex((await treeOf(leaves, 5)).root)}`);
    expect(linesOf(cons.stdout)).toContain(`older sig:    Ed25519 by kid ${keys.signer.kid}: valid`);
    const fork = await leavesOf(rows.map((r) => (r.seq === 2 ? { ...r, action: "delete" as const } : r)));
    const forked = await verify("consistency", consistency, "--first", await file("fork5.note", await noteOf(ORG, fork, 5, keys.signer)), "--jwks", keys.jwksPath);
    expect(forked.code).toBe(1);
    expect(linesOf(forked.stdout)).toContain("reason:       the consistency proof from size 5 to 13 does not verify");

    const head = await verify("tree-head", older, "--jwks", keys.jwksPath);
    expect(head.stdout).toBe(
      `proof:        VALID\norganization: ${ORG}\ntree head:    size 5, root ${toHex((await treeOf(leaves, 5)).root)}\n` +
        `signature:    Ed25519 by kid ${keys.signer.kid}: valid\n`,
    );
    expect(head.code).toBe(0);
    const noKey = await verify("tree-head", older, "--jwks", keys.otherJwksPath);
    expect(noKey.code).toBe(1);
    expect(linesOf(noKey.stdout)).toContain("reason:       no signature line names a key of the JWKS");
    // A head whose root or size was changed under its signature line: the key is named, the signature fails.
    const note = await noteOf(ORG, leaves, 5, keys.signer);
    const [, , rootLine] = note.split("\n");
    const otherRoot = Buffer.from((await treeOf(leaves, 6)).root).toString("base64");
    for (const forged of [note.replace(rootLine!, otherRoot), note.replace("\n5\n", "\n6\n")]) {
      const res = await verify("tree-head", await file("forged.note", forged), "--jwks", keys.jwksPath);
      expect(res.code).toBe(1);
      expect(linesOf(res.stdout)).toContain("reason:       the chainproof signature does not verify under the JWKS key it names");
    }
    const forgedInclusion = await file("forged-inclusion.json", JSON.stringify({ ...inclusion, checkpoint: inclusion.checkpoint.replace(/\n13\n/, "\n14\n") }));
    expect((await verify("inclusion", forgedInclusion, "--jwks", keys.jwksPath)).code).toBe(1);
    // Read as a C2SP signed note, as the CLI reads it (test/merkle.unit.test.ts): another key's line (a witness's cosignature)
    // is ignored; a malformed line, or a failing line of the JWKS key before a good one, rejects it.
    const [body, sigLine] = note.split("\n\n") as [string, string];
    const cosigned = `${body}\n\n${sigLine}\u2014 witness.example ${Buffer.alloc(72, 7).toString("base64")}\n`;
    const failing = sigLine.replace(/ (\S+)\n$/, (_, blob: string) => {
      const bytes = Buffer.from(blob, "base64");
      bytes[10]! ^= 1;
      return ` ${bytes.toString("base64")}\n`;
    });
    for (const [name, text, code, reason] of [
      ["cosigned", cosigned, 0, null],
      ["trailing", `${note}trailing\n`, 1, "a signature line is malformed"],
      ["failing-first", `${body}\n\n${failing}${sigLine}`, 1, "the chainproof signature does not verify under the JWKS key it names"],
    ] as const) {
      const res = await verify("tree-head", await file(`${name}.note`, text), "--jwks", keys.jwksPath);
      expect([name, res.code]).toEqual([name, code]);
      if (reason) expect(linesOf(res.stdout)).toContain(`reason:       ${reason}`);
    }
    // A member name written twice: JSON readers keep one or the other, so the answer is refused.
    const twice = JSON.stringify(inclusion).replace('"leaf_index":9,', '"leaf_index":999,"leaf_index":9,');
    expect(twice).toContain('"leaf_index":999');
    const repeated = await verify("inclusion", await file("twice.json", twice), "--jwks", keys.jwksPath);
    expect(repeated.code).toBe(1);
    expect(linesOf(repeated.stdout)).toContain("reason:       duplicate member leaf_index");
    // Without the public keys nothing is said valid: a usage error (exit 2), as for the CLI.
    expect((await verify("tree-head", older)).code).toBe(2);
    expect((await verify("consistency", consistency, "--first", older)).code).toBe(2);
  });
});

describe.skipIf(!hasPython)("docs/verify_proof.py against a running Worker", { timeout: 300_000 }, () => {
  let worker: LocalWorker | undefined;
  let base = "";
  afterAll(async () => {
    await worker?.server.stop();
    if (worker) await rm(worker.dir, { recursive: true, force: true });
  });

  /** GET with the root's Basic credentials, saved to a file as the API answered it. */
  async function save(name: string, path: string) {
    const res = await fetch(`${base}${path}`, { headers: { Authorization: `Basic ${btoa(`${worker!.root.username}:${worker!.root.password}`)}` } });
    const text = await res.text();
    expect(res.status, `${path}: ${text}`).toBe(200);
    return { path: await file(name, text), json: JSON.parse(text) as Record<string, any> };
  }

  beforeAll(async () => {
    worker = await startLocalWorker();
    base = worker.server.base;
  }, 300_000);

  it("fetches a tree head, an inclusion proof and a consistency proof, and Python verifies them; receipts verify with the CLI", async () => {
    const root = worker!.root;
    const org = (await call(base, root, "POST", "/api/v1/organizations", { name: "Proof GmbH" })).id as string;
    const records = (n: number) => ({
      records: Array.from({ length: n }, (_, i) => ({ organization_id: org, actor_id: randomUUID(), action: "update", resource_type: "device", resource_id: `dev_${i}`, status: "success", metadata: { i, note: "é ✓" } })),
    });
    const append = async (n: number) => {
      const res = await fetch(`${base}/api/v1/audit/logs/batch`, {
        method: "POST",
        headers: { Authorization: `Basic ${btoa(`${root.username}:${root.password}`)}`, "Content-Type": "application/json" },
        body: JSON.stringify(records(n)),
      });
      expect(res.status).toBe(201);
      return { body: await res.text(), receipt: res.headers.get("Chainproof-Receipt") };
    };
    const first = await append(5);
    const jwks = await save("jwks.json", "/.well-known/jwks.json");
    const older = await save("tree-head.json", `/api/v1/audit/tree-head?organization_id=${org}`);
    const second = await append(9);
    const last = (JSON.parse(second.body).records as { id: string; seq: number }[]).at(-1)!;
    // Asking for a record the newest head does not cover makes the Worker sign a newer one.
    const inclusion = await save("inclusion.json", `/api/v1/audit/logs/${last.id}/proof`);
    const consistency = await save("consistency.json", `/api/v1/audit/proofs/consistency?organization_id=${org}&first=${older.json.tree_size}&second=${inclusion.json.tree_size}`);
    const record = await save("record.json", `/api/v1/audit/logs/${last.id}`);
    expect(inclusion.json.tree_size).toBeGreaterThan(older.json.tree_size);

    const head = await verify("tree-head", older.path, "--jwks", jwks.path);
    expect(linesOf(head.stdout)).toContain(`tree head:    size ${older.json.tree_size}, root ${older.json.root_hash}`);
    expect(head.code).toBe(0);
    const inc = await verify("inclusion", inclusion.path, "--record", record.path, "--jwks", jwks.path);
    expect(linesOf(inc.stdout)).toContain(`record:       seq ${last.seq}, id ${last.id}, leaf hash matches`);
    expect(inc.code).toBe(0);
    const cons = await verify("consistency", consistency.path, "--first", older.path, "--jwks", jwks.path);
    expect(linesOf(cons.stdout)).toContain(`consistency:  size ${older.json.tree_size} -> ${inclusion.json.tree_size}, ${consistency.json.consistency.length} hashes: valid`);
    expect(cons.code).toBe(0);
    const kid = (jwks.json.keys as { kid: string }[])[0]!.kid;
    expect(linesOf(cons.stdout)).toContain(`signature:    Ed25519 by kid ${kid}: valid`);
    expect(linesOf(cons.stdout)).toContain(`older sig:    Ed25519 by kid ${kid}: valid`);

    // The CLI checks the same answers, signatures included, and the receipts of both appends.
    expect((await run("verify-proof", inclusion.path, "--jwks", jwks.path, "--record", record.path)).code).toBe(0);
    expect((await run("verify-proof", consistency.path, "--jwks", jwks.path, "--first-checkpoint", older.path)).code).toBe(0);
    for (const [name, answer] of [["first", first], ["second", second]] as const) {
      const res = await run("verify-receipt", await file(`${name}.receipt`, answer.receipt!), "--jwks", jwks.path, "--record", await file(`${name}-body.json`, answer.body));
      expect(res.stdout).toContain(`records:      ${name === "first" ? 5 : 9}, every member matches (leaves_sha256 included)`);
      expect(res.code).toBe(0);
    }
    const changed = JSON.parse(second.body);
    changed.records[3].metadata.i = 99;
    const tampered = await run("verify-receipt", inDir("second.receipt"), "--jwks", jwks.path, "--record", await file("changed-body.json", JSON.stringify(changed)));
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/\nreason: {7}leaves_sha256 differs: /);
    // The public check with no secret: the records both appends answered, as JSONL, against the newer head.
    // The chain starts with chainproof's own record of the organization's creation: the listing has it.
    const listed = (await save("listing.json", `/api/v1/audit/logs?organization_id=${org}&per_page=100`)).json.items as { seq: number | null }[];
    const chain = listed.filter((r) => r.seq !== null).sort((a, b) => a.seq! - b.seq!);
    expect(chain.slice(-14)).toEqual([...JSON.parse(first.body).records, ...JSON.parse(second.body).records]);
    expect(chain.map((r) => r.seq).slice(0, inclusion.json.tree_size)).toEqual(Array.from({ length: inclusion.json.tree_size }, (_, i) => i + 1));
    const publicCheck = await run("verify-chain", await file("chain.jsonl", jsonl(chain)), "--checkpoint", inclusion.path, "--jwks", jwks.path);
    expect(linesOf(publicCheck.stdout)).toContain(`root:         matches the leaves of seq 1–${inclusion.json.tree_size}`);
    expect(publicCheck.code).toBe(0);
  });
});
