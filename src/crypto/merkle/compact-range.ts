import { fromHex, toHex } from "../encoding";
import { emptyRoot, nodeHash } from "./hash";
import type { NodeId } from "./ranges";

/** The hash of adjacent complete subtrees, largest (leftmost) first: MTH folds them from the right. */
export async function foldRight(hashes: readonly Uint8Array[]): Promise<Uint8Array> {
  if (hashes.length === 0) return emptyRoot();
  let root = hashes.at(-1)!;
  for (let i = hashes.length - 2; i >= 0; i--) root = await nodeHash(hashes[i]!, root);
  return root;
}

/**
 * The roots of the complete subtrees that make a tree of `size` leaves (one per set bit of size,
 * ≤ 64 hashes): enough to append a leaf with O(1) amortized hashing and to hash the whole tree.
 */
export class CompactRange {
  constructor(
    public size: number,
    private readonly nodes: Uint8Array[],
  ) {}

  /** Appends a leaf; `emit` receives every subtree it completes, the leaf itself first. */
  async append(leaf: Uint8Array, emit: (node: NodeId, hash: Uint8Array) => void): Promise<void> {
    const index = this.size;
    let hash = leaf;
    let level = 0;
    emit({ level, index }, hash);
    while (Math.floor(index / 2 ** level) % 2 === 1) {
      hash = await nodeHash(this.nodes.pop()!, hash);
      level++;
      emit({ level, index: Math.floor(index / 2 ** level) }, hash);
    }
    this.nodes.push(hash);
    this.size++;
  }

  root(): Promise<Uint8Array> {
    return foldRight(this.nodes);
  }

  hashes(): readonly Uint8Array[] {
    return this.nodes;
  }

  clone(): CompactRange {
    return new CompactRange(this.size, [...this.nodes]);
  }
}

/**
 * A compact range as exports and archives carry it (docs/protocol.md §8): the roots of the complete
 * subtrees of the first `tree_size` leaves, largest first, in hex. With the leaves that follow, it
 * is all an offline check needs to recompute the root of a tree that does not start at seq 1.
 */
export type CompactRangeJson = { tree_size: number; hashes: string[] };

export const compactRangeJson = (size: number, hashes: readonly Uint8Array[]): CompactRangeJson => ({ tree_size: size, hashes: hashes.map(toHex) });

export const compactRangeFromJson = (json: CompactRangeJson) => new CompactRange(json.tree_size, json.hashes.map(fromHex));
