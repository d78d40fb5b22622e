import { spawnSync } from "node:child_process";
import { createPublicKey, randomUUID, verify as verifySignature } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../../src/crypto/encoding";
import { call, type LocalWorker, startLocalWorker } from "./browser-server";
import { jsonl, linesOf, run, runProgram, sealChain, signerWithJwks, tempDir } from "./cli-helpers";
import { consistencyAnswer, flippedBytes, inclusionAnswer, leavesOf, noteOf, treeOf } from "./tree-fixtures";

// docs/verify_proof.py does the Merkle math and reads the notes with the standard library only; the
// standard library has no Ed25519, so these tests check the notes' signatures with node:crypto.
const SCRIPT = fileURLToPath(new URL("../../docs/verify_proof.py", import.meta.url));
const hasPython = spawnSync("python3", ["--version"]).status === 0;
if (!hasPython) console.warn("python3 is not installed: the docs/verify_proof.py tests are skipped");
const verify = (...args: string[]) => runProgram("python3", [SCRIPT, ...args]);

const { file, inDir } = tempDir();
const keys = signerWithJwks(file);

/** The Ed25519 check Python cannot do: the note's signature line over its first three lines, with a JWKS key. */
function noteSignatureValid(note: string, jwk: { x: string }) {
  const [body, signatures] = note.split("\n\n") as [string, string];
  const blob = Buffer.from(signatures.split(" ")[2]!.trim(), "base64");
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: jwk.x }, format: "jwk" });
  return verifySignature(null, Buffer.from(`${body}\n`), key, blob.subarray(4));
}

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
        `signature:    names kid ${keys.signer.kid} by key hash; the Ed25519 signature is not checked here: check it with the CLI\n`,
    );
    expect(ok.code).toBe(0);
    expect(noteSignatureValid(inclusion.checkpoint, keys.signer.publicJwk)).toBe(true);

    const text = JSON.stringify(inclusion);
    const at = text.indexOf(inclusion.inclusion[1]!);
    // Every fourth byte: each run starts a Python process.
    for (const { bytes } of [...flippedBytes(text, at, at + 64)].filter((_, i) => i % 4 === 0)) {
      await writeFile(inDir("flipped.json"), bytes);
      const res = await verify("inclusion", inDir("flipped.json"));
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/\nreason: {7}(the inclusion proof of leaf 9 does not verify against the tree head's root|inclusion\[1\] is not 64 lowercase hex characters)\n$/);
    }
    const edited = await verify("inclusion", proof, "--record", await file("edited.json", JSON.stringify({ ...rows[9]!, status: "failure" })));
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain("the record is not the one proven");

    const consistency = await file("consistency.json", JSON.stringify(await consistencyAnswer(ORG, leaves, 5, 13, keys.signer)));
    const older = await file("head5.note", await noteOf(ORG, leaves, 5, keys.signer));
    const cons = await verify("consistency", consistency, "--first", older);
    expect(cons.code).toBe(0);
    expect(linesOf(cons.stdout)).toContain(`older head:   size 5, root ${toHex((await treeOf(leaves, 5)).root)}`);
    const fork = await leavesOf(rows.map((r) => (r.seq === 2 ? { ...r, action: "delete" as const } : r)));
    const forked = await verify("consistency", consistency, "--first", await file("fork5.note", await noteOf(ORG, fork, 5, keys.signer)));
    expect(forked.code).toBe(1);
    expect(linesOf(forked.stdout)).toContain("reason:       the consistency proof from size 5 to 13 does not verify");

    const head = await verify("tree-head", older);
    expect(head.stdout).toBe(
      `proof:        VALID\norganization: ${ORG}\ntree head:    size 5, root ${toHex((await treeOf(leaves, 5)).root)}\n` +
        "signature:    not checked here (Ed25519 is not in the standard library): check it with the CLI\n",
    );
    const noKey = await verify("tree-head", older, "--jwks", keys.otherJwksPath);
    expect(noKey.code).toBe(1);
    expect(linesOf(noKey.stdout)).toContain("reason:       no signature line names a key of the JWKS");
    expect((await verify("consistency", consistency)).code).toBe(2);
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
    // Python named the key by its hash; node:crypto checks the Ed25519 signatures it cannot.
    const key = (jwks.json.keys as { kid: string; x: string }[])[0]!;
    expect(noteSignatureValid(older.json.checkpoint, key)).toBe(true);
    expect(noteSignatureValid(inclusion.json.checkpoint, key)).toBe(true);

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
