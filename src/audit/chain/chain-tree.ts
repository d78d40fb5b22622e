import type { Database } from "../../db/client";
import { utf8 } from "../../crypto/encoding";
import { leafHashesOf } from "../../crypto/merkle/hash";
import { TreeEdge } from "../../crypto/merkle/tiles";
import { canonicalStoredRow } from "./stored-row";
import { archivedLeaves } from "./archived-leaves";
import { rowsInSeqRange } from "./store";
import { readLastTiles, growTileStatements } from "./tree-store";

/**
 * The organization's Merkle tree as its chain object grows it (docs/protocol.md §12): leaf i is the
 * row of seq i+1. Tiles are written in the same D1 batch as the rows, so the tree and the chain
 * commit together. A chain older than its tree (rows sealed before the tree existed) is caught up
 * by `backfill`, a bounded step at a time; until then commits leave the tree alone.
 */
export class ChainTree {
  #edge: TreeEdge | null = null;

  constructor(
    private readonly d1: D1Database,
    private readonly db: Database,
    private readonly bucket: R2Bucket,
    private readonly orgId: string,
  ) {}

  async load(): Promise<void> {
    this.#edge = TreeEdge.fromLastTiles(await readLastTiles(this.d1, this.orgId));
  }

  /** How many leaves the tree holds (null before it was loaded). */
  get size(): number | null {
    return this.#edge?.size ?? null;
  }

  /** Whether the tree holds exactly the chain's rows up to `headSeq`. */
  inStep(headSeq: number): boolean {
    return this.#edge !== null && this.#edge.size === headSeq;
  }

  lags(headSeq: number): boolean {
    return this.#edge !== null && this.#edge.size < headSeq;
  }

  /** More leaves than the chain has rows: rows were cut from the chain's end, or tiles written behind the chain object's back. */
  isAheadOf(headSeq: number): boolean {
    return this.#edge !== null && this.#edge.size > headSeq;
  }

  /** The tiles a commit writes beside its rows, and the edge to keep once it committed; null while the tree lags. */
  async grow(headSeqBefore: number, leaves: readonly Uint8Array[]): Promise<{ edge: TreeEdge; statements: D1PreparedStatement[] } | null> {
    if (!this.inStep(headSeqBefore) || leaves.length === 0) return null;
    const edge = this.#edge!.copy();
    const tiles = await edge.append(leaves);
    return { edge, statements: growTileStatements(this.d1, this.orgId, headSeqBefore, tiles) };
  }

  accept(edge: TreeEdge) {
    this.#edge = edge;
  }

  /** The tree's size and root, or null before it was loaded. */
  async head(): Promise<{ size: number; root: Uint8Array } | null> {
    return this.#edge ? { size: this.#edge.size, root: await this.#edge.range.root() } : null;
  }

  /** Adds up to `limit` committed rows to a lagging tree; answers whether it now reaches `headSeq`. */
  async backfill(headSeq: number, limit: number): Promise<boolean> {
    const edge = this.#edge!.copy();
    const from = edge.size + 1;
    const to = Math.min(headSeq, edge.size + limit);
    if (from > to) return true;
    const rows = await rowsInSeqRange(this.db, this.orgId, from, to, to - from + 1);
    let leaves: Uint8Array[];
    if (rows[0]?.seq === from) {
      if (rows.at(-1)?.seq !== from + rows.length - 1) throw new Error(`organization ${this.orgId}: rows ${from}…${to} have a gap; the tree stops at seq ${from - 1}`);
      leaves = await leafHashesOf(rows.map((row) => utf8(canonicalStoredRow(row))));
    } else {
      // Pruned before the tree existed: the rows are in their archive.
      leaves = await archivedLeaves(this.bucket, this.db, this.orgId, from);
    }
    const tiles = await edge.append(leaves);
    await this.d1.batch(growTileStatements(this.d1, this.orgId, from - 1, tiles));
    this.#edge = edge;
    return edge.size === headSeq;
  }
}
