import { type AuditRecord, canonicalRow } from "../../src/audit/chain/record";
import { toHex } from "../../src/crypto/encoding";
import { CompactRange } from "../../src/crypto/merkle/compact-range";
import { leafHashOfCanonical } from "../../src/crypto/merkle/hash";
import { hashRanges } from "../../src/crypto/merkle/proof";
import { consistencyRanges, inclusionRanges, type NodeId } from "../../src/crypto/merkle/ranges";
import { signTreeHead } from "../../src/crypto/merkle/tree-head";
import { vi } from "vitest";
import { main } from "../../cli/main";
import type { Signer } from "./cli-helpers";

// Proof answers as the API shapes them (docs/protocol.md §12), built with the project's own tree code.

export const leavesOf = (rows: readonly AuditRecord[]) => Promise.all(rows.map((r) => leafHashOfCanonical(canonicalRow(r))));

/** The tree of the first `size` leaves: its root, every complete subtree, and its compact range. */
export async function treeOf(leaves: readonly Uint8Array[], size = leaves.length) {
  const range = new CompactRange(0, []);
  const nodes = new Map<string, Uint8Array>();
  for (const leaf of leaves.slice(0, size)) await range.append(leaf, (id, hash) => nodes.set(`${id.level}:${id.index}`, hash));
  const node = (id: NodeId) => nodes.get(`${id.level}:${id.index}`)!;
  return { root: await range.root(), node, compactRange: { tree_size: size, hashes: range.hashes().map(toHex) } };
}

export const noteOf = async (org: string, leaves: readonly Uint8Array[], size: number, signer: Signer) =>
  signTreeHead({ organizationId: org, size, root: (await treeOf(leaves, size)).root }, signer);

/** GET /api/v1/audit/logs/{id}/proof?tree_size=size for the leaf of `index`. */
export async function inclusionAnswer(org: string, leaves: readonly Uint8Array[], index: number, size: number, signer: Signer) {
  const tree = await treeOf(leaves, size);
  const inclusion = (await hashRanges(inclusionRanges(index, size), tree.node)).map(toHex);
  return { organization_id: org, leaf_index: index, tree_size: size, leaf_hash: toHex(leaves[index]!), inclusion, checkpoint: await noteOf(org, leaves, size, signer) };
}

/** GET /api/v1/audit/proofs/consistency?first=first&second=second. */
export async function consistencyAnswer(org: string, leaves: readonly Uint8Array[], first: number, second: number, signer: Signer) {
  const tree = await treeOf(leaves, second);
  const consistency = (await hashRanges(consistencyRanges(first, second), tree.node)).map(toHex);
  return { organization_id: org, first, second, consistency, checkpoint: await noteOf(org, leaves, second, signer) };
}

/**
 * The CLI's main() in this process, its stdout and stderr collected: for the cases that run it once
 * per flipped byte (spawning a process for each would take minutes).
 */
export async function runInProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void out.push(`${parts.join(" ")}\n`));
  const error = vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => void err.push(`${parts.join(" ")}\n`));
  try {
    const code = await main(args);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

/** Every variant of `text` with one byte flipped (XOR 0x01) within [from, to), as UTF-8 bytes. */
export function* flippedBytes(text: string, from = 0, to = Buffer.byteLength(text)) {
  const bytes = Buffer.from(text, "utf8");
  for (let i = from; i < to; i++) {
    const copy = Buffer.from(bytes);
    copy[i]! ^= 0x01;
    yield { at: i, bytes: copy };
  }
}
