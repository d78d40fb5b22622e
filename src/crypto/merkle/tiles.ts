import { CompactRange } from "./compact-range";
import { HASH_BYTES } from "./hash";
import { compactRangeNodes, type NodeId } from "./ranges";

/** Hashes per tile: a tile is 256 consecutive complete subtrees of one level (docs/architecture.md). */
export const TILE_WIDTH = 256;

export type TileId = { level: number; tileIndex: number };
export type Tile = TileId & { hashes: Uint8Array };

export const tileOf = (node: NodeId): TileId => ({ level: node.level, tileIndex: Math.floor(node.index / TILE_WIDTH) });
export const tileKey = (t: TileId) => `${t.level}:${t.tileIndex}`;

/** A node's hash from the tiles read for it; undefined when the tiles do not reach it. */
export function hashIn(tiles: ReadonlyMap<string, Uint8Array>, node: NodeId): Uint8Array | undefined {
  const hashes = tiles.get(tileKey(tileOf(node)));
  const at = (node.index % TILE_WIDTH) * HASH_BYTES;
  return hashes && hashes.length >= at + HASH_BYTES ? hashes.slice(at, at + HASH_BYTES) : undefined;
}

/** Hashes to add at the end of a tile (32 bytes each), after the ones it holds. */
export type TileGrowth = TileId & { added: Uint8Array };

/**
 * The growing right edge of a tree: its compact range. Appending leaves hashes O(1) per leaf
 * amortized and answers only the hashes each tile gains (nodes of a level complete in index order),
 * which the caller appends in the same D1 batch as the rows. Work on a `copy()` and keep it only
 * when that batch committed.
 */
export class TreeEdge {
  private constructor(readonly range: CompactRange) {}

  /** Rebuilt from the last tile of each level, as storage holds them. */
  static fromLastTiles(tiles: readonly Tile[]): TreeEdge {
    const leaves = tiles.find((t) => t.level === 0);
    const size = leaves ? leaves.tileIndex * TILE_WIDTH + leaves.hashes.length / HASH_BYTES : 0;
    const byKey = new Map(tiles.map((t) => [tileKey(t), t.hashes]));
    const nodes = compactRangeNodes(size).map((node) => {
      const hash = hashIn(byKey, node);
      if (!hash) throw new Error(`the Merkle tiles do not hold node ${node.level}/${node.index} of a tree of ${size}`);
      return hash;
    });
    return new TreeEdge(new CompactRange(size, nodes));
  }

  get size(): number {
    return this.range.size;
  }

  copy(): TreeEdge {
    return new TreeEdge(this.range.clone());
  }

  /** Appends leaf hashes in order; answers what each tile they reach gains. */
  async append(leafHashes: readonly Uint8Array[]): Promise<TileGrowth[]> {
    const grown = new Map<string, { id: TileId; added: Uint8Array[] }>();
    const emit = (node: NodeId, hash: Uint8Array) => {
      const id = tileOf(node);
      const key = tileKey(id);
      let entry = grown.get(key);
      if (!entry) {
        entry = { id, added: [] };
        grown.set(key, entry);
      }
      entry.added.push(hash);
    };
    await this.range.appendAll(leafHashes, emit);
    return [...grown.values()].map(({ id, added }) => {
      const bytes = new Uint8Array(added.length * HASH_BYTES);
      added.forEach((h, i) => bytes.set(h, i * HASH_BYTES));
      return { ...id, added: bytes };
    });
  }
}
