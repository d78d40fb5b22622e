import { fromHex, toHex } from "../encoding";
import { emptyRoot, nodeHash, nodeHashesOf } from "./hash";
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
  append(leaf: Uint8Array, emit: (node: NodeId, hash: Uint8Array) => void): Promise<void> {
    return this.appendAll([leaf], emit);
  }

  /**
   * Appends leaves in order, a level at a time: the nodes a level gains are hashed together (one
   * await per level, not per node). `emit` receives every subtree completed, level by level, each
   * level in index order.
   */
  async appendAll(leaves: readonly Uint8Array[], emit: (node: NodeId, hash: Uint8Array) => void): Promise<void> {
    const before = this.size;
    const after = before + leaves.length;
    const oldByLevel = new Map(setBitsDescending(before).map((level, i) => [level, this.nodes[i]!]));
    const newByLevel = new Map<number, Uint8Array>();
    let gained = [...leaves];
    let first = before;
    for (let level = 0; gained.length > 0; level++) {
      gained.forEach((hash, i) => emit({ level, index: first + i }, hash));
      // An odd first index pairs with the subtree on its left, which the range holds.
      const row = first % 2 === 1 ? [oldByLevel.get(level)!, ...gained] : gained;
      if (row.length % 2 === 1) newByLevel.set(level, row.at(-1)!);
      const pairs: [Uint8Array, Uint8Array][] = [];
      for (let i = 0; i + 1 < row.length; i += 2) pairs.push([row[i]!, row[i + 1]!]);
      gained = await nodeHashesOf(pairs);
      first = Math.floor(first / 2);
    }
    // Levels that gained nothing keep their subtree.
    this.nodes.splice(0, this.nodes.length, ...setBitsDescending(after).map((level) => newByLevel.get(level) ?? oldByLevel.get(level)!));
    this.size = after;
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

/** The levels of the complete subtrees making a tree of `size` leaves, largest first (its set bits). */
function setBitsDescending(size: number): number[] {
  const levels: number[] = [];
  for (let level = 0, rest = size; rest > 0; level++, rest = Math.floor(rest / 2)) if (rest % 2 === 1) levels.unshift(level);
  return levels;
}
