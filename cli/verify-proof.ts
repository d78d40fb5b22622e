import { canonicalRow } from "../src/audit/chain/record";
import { toHex } from "../src/crypto/encoding";
import { leafHashOfCanonical, sameHash } from "../src/crypto/merkle/hash";
import { verifyConsistency } from "../src/crypto/merkle/verify";
import { isObject, parseRecord } from "./chain-walk";
import { type PublicJwk, readBytes, readJwks, UsageError } from "./io";
import { duplicateMember } from "./member-names";
import { answerHeadMismatch, hashList, inclusionAnswer, type InclusionAnswer, inclusionProblem } from "./proof-input";
import { authenticHead, headText, readSignedNote } from "./tree-head";
import { line } from "./verify-tree";

export type ProofOptions = { file: string; jwks: string; record?: string; firstCheckpoint?: string };

/** Thrown where a check fails: the proof is INVALID and `message` says which check. */
class Invalid extends Error {}

const fail = (message: string): never => {
  throw new Invalid(message);
};

/** The note must verify with the JWKS; `what` names it in the answer. */
async function signedHead(note: string, keys: PublicJwk[], what: string) {
  const signed = await authenticHead(note, keys);
  return signed.ok ? signed : fail(`${what} is not authentic: ${signed.reason}`);
}

/** A record as the API answers it, or one JSONL line: its leaf must be the proven one, at its index. */
async function recordCheck(path: string, answer: InclusionAnswer) {
  const record = parseRecord((await readBytes(path, "record")).toString("utf8").trim());
  if (typeof record === "string") return fail(`${path} is not a record: ${record}`);
  if (record.organization_id !== answer.organizationId) fail(`the record is organization ${record.organization_id}'s, the proof ${answer.organizationId}'s`);
  if (record.seq === null) fail("the record is unchained (seq null): it is not in the tree");
  if (record.seq! - 1 !== answer.leafIndex) fail(`the record has seq ${record.seq}, the proof is of leaf ${answer.leafIndex} (seq ${answer.leafIndex + 1})`);
  const leaf = await leafHashOfCanonical(canonicalRow(record));
  if (!sameHash(leaf, answer.leafHash)) fail(`the record's leaf hash is ${toHex(leaf)}, the proof's leaf_hash ${toHex(answer.leafHash)}: the record is not the one proven`);
  return `seq ${record.seq}, id ${record.id}, leaf hash matches`;
}

async function inclusion(json: Record<string, unknown>, keys: PublicJwk[], options: ProofOptions, out: [string, string][]) {
  if (options.firstCheckpoint) throw new UsageError("--first-checkpoint belongs to a consistency proof");
  const answer = inclusionAnswer(json);
  if (typeof answer === "string") return fail(`not an inclusion proof answer: ${answer}`);
  const { head, kid } = await signedHead(json.checkpoint as string, keys, "the tree head (checkpoint)");
  out.push(["organization", answer.organizationId], ["tree head", headText(head, kid)]);
  const problem = await inclusionProblem(answer, head);
  if (problem) fail(problem);
  out.push(["inclusion", `leaf ${answer.leafIndex} (seq ${answer.leafIndex + 1}), leaf_hash ${toHex(answer.leafHash)}, ${answer.inclusion.length} hashes: valid`]);
  out.push(["record", options.record ? await recordCheck(options.record, answer) : "not checked: pass --record FILE"]);
}

async function consistency(json: Record<string, unknown>, keys: PublicJwk[], options: ProofOptions, out: [string, string][]) {
  if (!options.firstCheckpoint) throw new UsageError("a consistency proof needs the older tree head: --first-checkpoint NOTE");
  if (options.record) throw new UsageError("--record belongs to an inclusion proof");
  if (typeof json.organization_id !== "string") return fail("not a consistency proof answer: organization_id is not a string");
  const sizes = [json.first, json.second];
  if (!sizes.every((n) => Number.isSafeInteger(n) && (n as number) >= 1)) return fail("not a consistency proof answer: first and second must be positive integers");
  const [first, second] = sizes as [number, number];
  const proof = hashList(json.consistency, "consistency");
  if (typeof proof === "string") return fail(`not a consistency proof answer: ${proof}`);
  const newer = await signedHead(json.checkpoint as string, keys, "the tree head (checkpoint)");
  out.push(["organization", json.organization_id], ["tree head", headText(newer.head, newer.kid)]);
  const mismatch = answerHeadMismatch(json.organization_id, second, newer.head, "second");
  if (mismatch) fail(mismatch);
  const older = await signedHead(await firstNote(options.firstCheckpoint), keys, `the older tree head (${options.firstCheckpoint})`);
  out.push(["older head", headText(older.head, older.kid)]);
  const olderMismatch = answerHeadMismatch(json.organization_id, first, older.head, "first");
  if (olderMismatch) fail(`--first-checkpoint: ${olderMismatch.replace("the tree head", "the older tree head")}`);
  if (!(await verifyConsistency(first, second, older.head.root, newer.head.root, proof))) {
    fail(`the consistency proof from size ${first} to ${second} does not verify: the tree of size ${second} does not extend the tree of size ${first}`);
  }
  out.push(["consistency", `size ${first} → ${second}, ${proof.length} hashes: valid (the newer tree extends the older one)`]);
}

const firstNote = async (path: string) => (await readSignedNote(path, "first checkpoint")).note;

/**
 * verify-proof FILE: a saved answer of GET /api/v1/audit/logs/{id}/proof or of
 * GET /api/v1/audit/proofs/consistency, checked with the public JWKS only. Returns the exit status.
 */
export async function verifyProof(options: ProofOptions): Promise<number> {
  const keys = await readJwks(options.jwks);
  const text = (await readBytes(options.file, "proof")).toString("utf8");
  const out: [string, string][] = [];
  let reason: string | null = null;
  try {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      fail("the file is not valid JSON");
    }
    // JSON.parse keeps the last of two equal names; whoever reads the file may see the first.
    const duplicate = duplicateMember(text, json);
    if (duplicate) fail(`the file is malformed: ${duplicate}`);
    if (!isObject(json)) return fail("the file is not a JSON object");
    if (typeof json.checkpoint !== "string") fail('the answer has no "checkpoint" (signed tree head) text');
    if ("inclusion" in json) await inclusion(json, keys, options, out);
    else if ("consistency" in json) await consistency(json, keys, options, out);
    else fail('neither an inclusion proof ("inclusion") nor a consistency proof ("consistency")');
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    reason = err.message;
  }
  console.log(line("proof", reason === null ? "VALID" : "INVALID"));
  for (const [label, value] of out) console.log(line(label, value));
  if (reason !== null) console.log(line("reason", reason));
  return reason === null ? 0 : 1;
}
