import { fromHex } from "../src/crypto/encoding";
import { CompactRange } from "../src/crypto/merkle/compact-range";
import { compactRangeNodes, inclusionRanges } from "../src/crypto/merkle/ranges";
import type { TreeHead } from "../src/crypto/merkle/tree-head";
import { verifyInclusion } from "../src/crypto/merkle/verify";
import { isObject } from "./chain-walk";
import { readJson, UsageError } from "./io";
import type { Segment } from "./tree-walk";

const HEX_HASH = /^[0-9a-f]{64}$/;
const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A hex hash of a proof answer, or null when it is not 64 lowercase hex characters. */
export const hashOf = (v: unknown) => (typeof v === "string" && HEX_HASH.test(v) ? fromHex(v) : null);

/** A list of hex hashes, or the name of its first element that is not one. */
export function hashList(v: unknown, name: string): Uint8Array[] | string {
  if (!Array.isArray(v)) return `${name} is not a list of hex hashes`;
  const hashes = v.map(hashOf);
  const bad = hashes.findIndex((h) => h === null);
  return bad < 0 ? (hashes as Uint8Array[]) : `${name}[${bad}] is not 64 lowercase hex characters`;
}

/** The saved answer of GET /api/v1/audit/logs/{id}/proof, its hashes decoded. */
export type InclusionAnswer = { organizationId: string; leafIndex: number; treeSize: number; leafHash: Uint8Array; inclusion: Uint8Array[] };

/** The answer's members, each of its type, or what is wrong with them. */
export function inclusionAnswer(json: Record<string, unknown>): InclusionAnswer | string {
  if (typeof json.organization_id !== "string") return "organization_id is not a string";
  if (!isIndex(json.leaf_index)) return "leaf_index is not a non-negative integer";
  if (!isIndex(json.tree_size)) return "tree_size is not a non-negative integer";
  const leafHash = hashOf(json.leaf_hash);
  if (!leafHash) return "leaf_hash is not 64 lowercase hex characters";
  const inclusion = hashList(json.inclusion, "inclusion");
  if (typeof inclusion === "string") return inclusion;
  return { organizationId: json.organization_id, leafIndex: json.leaf_index, treeSize: json.tree_size, leafHash, inclusion };
}

/** Why the answer does not prove its leaf under `head`, or null when it does. */
export async function inclusionProblem(answer: InclusionAnswer, head: TreeHead): Promise<string | null> {
  const mismatch = answerHeadMismatch(answer.organizationId, answer.treeSize, head, "tree_size");
  if (mismatch) return mismatch;
  const ok = await verifyInclusion(answer.leafIndex, answer.treeSize, answer.leafHash, answer.inclusion, head.root);
  return ok ? null : `the inclusion proof of leaf ${answer.leafIndex} does not verify against the tree head's root`;
}

/** The answer must be about the head it carries: its origin is chainproof/<organization_id>, its size the answer's. */
export function answerHeadMismatch(organizationId: string, size: number, head: TreeHead, sizeName: string): string | null {
  if (head.organizationId !== organizationId) return `the tree head is organization ${head.organizationId}'s, the answer names ${organizationId}`;
  if (head.size !== size) return `the tree head has size ${head.size}, the answer's ${sizeName} is ${size}`;
  return null;
}

/**
 * What a verified inclusion proof tells about the other leaves: each sibling hash is the MTH of a
 * run of leaves, and the leaf hash that of its own, so together they split [0, size) into runs
 * whose hashes the signed root vouches for.
 */
export function inclusionSegments(answer: InclusionAnswer): Segment[] {
  const siblings = inclusionRanges(answer.leafIndex, answer.treeSize).map(([lo, hi], i) => ({ lo, hi, expected: answer.inclusion[i]! }));
  return [...siblings, { lo: answer.leafIndex, hi: answer.leafIndex + 1, expected: answer.leafHash }];
}

/**
 * --compact-range FILE: {"tree_size": N, "hashes": [hex…]}, the roots of the complete subtrees of
 * the first N leaves, largest first (compactRangeNodes(N)). It is not signed: it counts only
 * through the root it leads to, which the signed head must match.
 */
export async function readCompactRange(path: string): Promise<CompactRange> {
  const json = await readJson(path, "compact range");
  const shape = `compact range ${path} must be {"tree_size": N, "hashes": [hex…]}`;
  if (!isObject(json) || !isIndex(json.tree_size) || json.tree_size < 1) throw new UsageError(`${shape} with N ≥ 1`);
  const hashes = hashList(json.hashes, "hashes");
  if (typeof hashes === "string") throw new UsageError(`${shape}: ${hashes}`);
  const expected = compactRangeNodes(json.tree_size).length;
  if (hashes.length !== expected) {
    throw new UsageError(`compact range ${path}: a tree of ${json.tree_size} leaves has ${expected} complete subtrees, the file lists ${hashes.length} hashes`);
  }
  return new CompactRange(json.tree_size, hashes);
}
