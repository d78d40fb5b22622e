import { toHex } from "../../crypto/encoding";
import { type CompactRangeJson, compactRangeJson } from "../../crypto/merkle/compact-range";
import { hashRanges, nodesOf } from "../../crypto/merkle/proof";
import { compactRangeNodes, inclusionRanges } from "../../crypto/merkle/ranges";
import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { availableCheckpointSigner, issueCheckpoint, treeHeadCheckpoint } from "./checkpoints";
import { rowAtSeq } from "./store";
import { readNodes, treeSize } from "./tree-store";
import { InconsistentTreeHead, rootAt } from "./tree-witness";

/**
 * What anyone holding the public JWKS key needs to check records against the organization's tree
 * (docs/protocol.md §8), read from the tiles: a record's inclusion proof, and the compact range of
 * everything before a range of rows (exports and archives that do not start at seq 1).
 */

/** The compact range of the leaves before the row of `seq`: tree_size = seq − 1. */
export async function compactRangeBefore(d1: D1Database, orgId: string, seq: number): Promise<CompactRangeJson> {
  const nodes = compactRangeNodes(seq - 1);
  const node = await readNodes(d1, orgId, nodes);
  return compactRangeJson(seq - 1, nodes.map(node));
}

/** The leaf hash of the row of `seq` and its RFC 9162 inclusion proof in the tree of `size` leaves. */
export async function inclusionProofOf(d1: D1Database, orgId: string, seq: number, size: number) {
  const leaf = { level: 0, index: seq - 1 };
  const ranges = inclusionRanges(seq - 1, size);
  const node = await readNodes(d1, orgId, [leaf, ...nodesOf(ranges)]);
  return { leafHash: node(leaf), inclusion: await hashRanges(ranges, node) };
}

/** PRODUCT.md §2.10's answer of `GET /api/v1/audit/logs/{id}/proof`. */
export type RecordProof = {
  organization_id: string;
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  inclusion: string[];
  checkpoint: string;
};

/**
 * The inclusion proof of the row of `seq` against the signed tree head of size `size`, or (without
 * `size`) the newest signed tree head that covers the row. Null when there is no such head: none
 * was signed of that size, or none since the row was appended.
 */
export async function recordProof(db: Database, d1: D1Database, orgId: string, seq: number, size?: number): Promise<RecordProof | null> {
  const head = await treeHeadCheckpoint(db, orgId, size === undefined ? { atLeast: seq } : { size });
  if (!head?.tree_head || head.seq < seq) return null;
  const { leafHash, inclusion } = await inclusionProofOf(d1, orgId, seq, head.seq);
  return {
    organization_id: orgId,
    leaf_index: seq - 1,
    tree_size: head.seq,
    leaf_hash: toHex(leafHash),
    inclusion: inclusion.map(toHex),
    checkpoint: head.tree_head,
  };
}

/**
 * A signed tree head of exactly `size` leaves: a range of rows ending at seq `size` is checked by
 * recomputing root(size) from its leaves (and the compact range before it), so a larger head would
 * not do. An existing checkpoint's head when there is one; otherwise a checkpoint of that row is
 * signed now (its tree head proven consistent with the witness, as every checkpoint's is). Null
 * without a signing key, while the tree does not reach `size` yet, or when the row is gone.
 */
export async function signedTreeHeadOfSize(env: Env, db: Database, orgId: string, size: number): Promise<string | null> {
  const existing = await treeHeadCheckpoint(db, orgId, { size });
  if (existing) return existing.tree_head;
  if (!(await availableCheckpointSigner(env)) || (await treeSize(env.DB, orgId)) < size) return null;
  const row = await rowAtSeq(db, orgId, size);
  if (!row?.rowHmac) return null;
  try {
    const checkpoint = await issueCheckpoint(env, db, { organizationId: orgId, seq: size, rowHmac: row.rowHmac, kind: "head", treeRoot: await rootAt(env.DB, orgId, size) });
    return checkpoint.tree_head;
  } catch (err) {
    // The chain object raises this at its next checkpoint; what asked for the head goes without one.
    if (!(err instanceof InconsistentTreeHead)) throw err;
    console.error(`organization ${orgId}: no tree head of size ${size}: ${err.message}`);
    return null;
  }
}
