import { HASH_BYTES } from "../../crypto/merkle/hash";
import { type NodeId } from "../../crypto/merkle/ranges";
import { fromHex, toHex } from "../../crypto/encoding";
import { TILE_WIDTH, type Tile, type TileGrowth } from "../../crypto/merkle/tiles";

// D1 allows 100 bound parameters per statement: 1 for the org, 2 per node.
const NODES_PER_READ = 49;

/** D1 hands blobs back as arrays of bytes (or ArrayBuffers, depending on the path). */
function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  throw new Error("a Merkle tile is not a blob");
}

type TileRow = { level: number; tile_index: number; hashes: unknown };
const toTile = (row: TileRow): Tile => ({ level: row.level, tileIndex: row.tile_index, hashes: bytesOf(row.hashes) });

/** The last tile of every level of the organization's tree. */
export async function readLastTiles(d1: D1Database, orgId: string): Promise<Tile[]> {
  const { results } = await d1
    .prepare(
      `SELECT t.level, t.tile_index, t.hashes FROM merkle_tiles t
       WHERE t.organization_id = ?1
         AND t.tile_index = (SELECT max(u.tile_index) FROM merkle_tiles u WHERE u.organization_id = ?1 AND u.level = t.level)`,
    )
    .bind(orgId)
    .all<TileRow>();
  return results.map(toTile);
}

// 2 parameters for the statement, 3 per tile, at most 100 in all.
const TILES_PER_WRITE = 32;

/**
 * Appends what each tile gained, binding 32 bytes per new hash instead of rewriting the tile, in one
 * statement for all of them. A tile must hold exactly the nodes the tree of `sizeBefore` leaves has
 * in it, max(0, (sizeBefore >> level) − tile_index × 256), or the NOT NULL constraint fails the
 * statement and with it the whole batch with the rows (the chain object alone writes tiles, under
 * its write lock). SQLite's || yields text even of two blobs; the CAST takes the bytes back as a blob.
 * The hashes travel as hex text, unhex()ed by SQLite (3.41+; see docs/operations.md, "Deploying"): D1
 * sends a bound blob as a JSON array of numbers, which cost the Worker as much as sealing the rows.
 */
export function growTileStatements(d1: D1Database, orgId: string, sizeBefore: number, growth: readonly TileGrowth[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < growth.length; i += TILES_PER_WRITE) {
    const chunk = growth.slice(i, i + TILES_PER_WRITE);
    const values = chunk.map((_, j) => `(?1, ?${3 + 3 * j}, ?${4 + 3 * j}, unhex(?${5 + 3 * j}))`).join(", ");
    statements.push(
      d1
        .prepare(
          `INSERT INTO merkle_tiles (organization_id, level, tile_index, hashes) VALUES ${values}
           ON CONFLICT (organization_id, level, tile_index) DO UPDATE
           SET hashes = CASE WHEN length(merkle_tiles.hashes) = max(0, (?2 >> excluded.level) - excluded.tile_index * ${TILE_WIDTH}) * ${HASH_BYTES}
                             THEN CAST(merkle_tiles.hashes || excluded.hashes AS BLOB) END`,
        )
        .bind(orgId, sizeBefore, ...chunk.flatMap((t) => [t.level, t.tileIndex, toHex(t.added)])),
    );
  }
  return statements;
}

/**
 * The hashes of complete subtrees, cut out of the tiles that hold them by SQLite: a proof needs 32
 * bytes of each tile, and D1 answers blobs as JSON arrays of numbers (a whole 8 KiB tile each).
 * Throws if one is missing.
 */
export async function readNodes(d1: D1Database, orgId: string, nodes: readonly NodeId[]): Promise<(node: NodeId) => Uint8Array> {
  const wanted = [...new Map(nodes.map((node) => [nodeKey(node), node])).values()];
  const hashes = new Map<string, Uint8Array>();
  for (let i = 0; i < wanted.length; i += NODES_PER_READ) {
    const chunk = wanted.slice(i, i + NODES_PER_READ);
    // D1 may bind a JS number as a real; the CAST keeps the tile arithmetic integral.
    const values = chunk.map((_, j) => `(CAST(?${2 + 2 * j} AS INTEGER), CAST(?${3 + 2 * j} AS INTEGER))`).join(", ");
    const { results } = await d1
      .prepare(
        `SELECT w.column1 AS level, w.column2 AS node_index,
                hex(substr(t.hashes, (w.column2 % ${TILE_WIDTH}) * ${HASH_BYTES} + 1, ${HASH_BYTES})) AS hash
         FROM (VALUES ${values}) AS w
         JOIN merkle_tiles t ON t.organization_id = ?1 AND t.level = w.column1 AND t.tile_index = w.column2 / ${TILE_WIDTH}`,
      )
      .bind(orgId, ...chunk.flatMap((node) => [node.level, node.index]))
      .all<{ level: number; node_index: number; hash: string }>();
    for (const row of results) hashes.set(nodeKey({ level: row.level, index: row.node_index }), fromHex(row.hash));
  }
  const lookup = (node: NodeId) => {
    const hash = hashes.get(nodeKey(node));
    if (!hash || hash.length !== HASH_BYTES) throw new Error(`Merkle node ${node.level}/${node.index} is missing`);
    return hash;
  };
  for (const node of nodes) lookup(node);
  return lookup;
}

const nodeKey = (node: NodeId) => `${node.level}:${node.index}`;

/** How many leaves the organization's tree holds. */
export async function treeSize(d1: D1Database, orgId: string): Promise<number> {
  const row = await d1
    .prepare(`SELECT tile_index, length(hashes) AS bytes FROM merkle_tiles WHERE organization_id = ? AND level = 0 ORDER BY tile_index DESC LIMIT 1`)
    .bind(orgId)
    .first<{ tile_index: number; bytes: number }>();
  return row ? row.tile_index * TILE_WIDTH + row.bytes / HASH_BYTES : 0;
}
