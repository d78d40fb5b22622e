import { CompactRange } from "./compact-range";
import { HASH_BYTES } from "./hash";
import { compactRangeNodes, type NodeId } from "./ranges";

/** Hashes per tile: a tile is 256 consecutive complete subtrees of one level (docs/architecture.md). */
export const TILE_WIDTH = 256;

export type TileId = { level: number; tileIndex: number };
export type Tile = TileId & { hashes: Uint8Array };

export const tileOf = (node: NodeId): TileId => ({ level: node.level, tileIndex: Math.floor(node.index / TILE_WIDTH) });
export const tileKey = (t: TileId) => `${t.level}:${t.tileIndex}`;

/** The tiles holding `nodes`, each once. */
export function tilesOf(nodes: readonly NodeId[]): TileId[] {
  const tiles = new Map<string, TileId>();
  for (const node of nodes) {
    const tile = tileOf(node);
    tiles.set(tileKey(tile), tile);
  }
  return [...tiles.values()];
}

/** A node's hash from the tiles read for it; undefined when the tiles do not reach it. */
export function hashIn(tiles: ReadonlyMap<string, Uint8Array>, node: NodeId): Uint8Array | undefined {
  const hashes = tiles.get(tileKey(tileOf(node)));
  const at = (node.index % TILE_WIDTH) * HASH_BYTES;
  return hashes && hashes.length >= at + HASH_BYTES ? hashes.slice(at, at + HASH_BYTES) : undefined;
}

/**
 * The growing right edge of a tree: its compact range and the last tile of every level. Appending
 * leaves hashes O(1) per leaf amortized and names the tiles it changed, which the caller writes in
 * the same D1 batch as the rows. Work on a `copy()` and keep it only when that batch committed.
 */
export class TreeEdge {
  private constructor(
    readonly range: CompactRange,
    private readonly lastTiles: Map<number, Tile>,
  ) {}

  static empty(): TreeEdge {
    return new TreeEdge(new CompactRange(0, []), new Map());
  }

  /** Rebuilt from the last tile of each level, as storage holds them. */
  static fromLastTiles(tiles: readonly Tile[]): TreeEdge {
    const lastTiles = new Map(tiles.map((t) => [t.level, t]));
    const leaves = lastTiles.get(0);
    const size = leaves ? leaves.tileIndex * TILE_WIDTH + leaves.hashes.length / HASH_BYTES : 0;
    const byKey = new Map(tiles.map((t) => [tileKey(t), t.hashes]));
    const nodes = compactRangeNodes(size).map((node) => {
      const hash = hashIn(byKey, node);
      if (!hash) throw new Error(`the Merkle tiles do not hold node ${node.level}/${node.index} of a tree of ${size}`);
      return hash;
    });
    return new TreeEdge(new CompactRange(size, nodes), lastTiles);
  }

  get size(): number {
    return this.range.size;
  }

  copy(): TreeEdge {
    return new TreeEdge(this.range.clone(), new Map(this.lastTiles));
  }

  /** Appends leaf hashes in order; answers the tiles to write (whole, as they now are). */
  async append(leafHashes: readonly Uint8Array[]): Promise<Tile[]> {
    const grown = new Map<string, { tile: Tile; added: Uint8Array[] }>();
    const emit = (node: NodeId, hash: Uint8Array) => {
      const id = tileOf(node);
      const key = tileKey(id);
      let entry = grown.get(key);
      if (!entry) {
        const last = this.lastTiles.get(id.level);
        const base = last && last.tileIndex === id.tileIndex ? last.hashes : new Uint8Array(0);
        entry = { tile: { ...id, hashes: base }, added: [] };
        grown.set(key, entry);
      }
      entry.added.push(hash);
    };
    for (const leaf of leafHashes) await this.range.append(leaf, emit);
    const written: Tile[] = [];
    for (const { tile, added } of grown.values()) {
      const hashes = new Uint8Array(tile.hashes.length + added.length * HASH_BYTES);
      hashes.set(tile.hashes);
      added.forEach((h, i) => hashes.set(h, tile.hashes.length + i * HASH_BYTES));
      const next = { level: tile.level, tileIndex: tile.tileIndex, hashes };
      const last = this.lastTiles.get(tile.level);
      if (!last || last.tileIndex <= tile.tileIndex) this.lastTiles.set(tile.level, next);
      written.push(next);
    }
    return written;
  }
}
