import { and, desc, eq, isNotNull } from "drizzle-orm";
import type { Database } from "../../db/client";
import { checkpoints, treeHeads } from "../../db/schema";
import { type CompactRangeJson, compactRangeJson, foldRight } from "../../crypto/merkle/compact-range";
import { hashRanges, nodesOf } from "../../crypto/merkle/proof";
import { compactRangeNodes, consistencyRanges, inclusionRanges } from "../../crypto/merkle/ranges";
import { readNodes } from "./tree-store";

/** Proofs from the organization's tiles (docs/protocol.md §12): O(log n) hashes from a few tile reads. */

export async function consistencyProof(d1: D1Database, orgId: string, m: number, n: number): Promise<Uint8Array[]> {
  const ranges = consistencyRanges(m, n);
  return hashRanges(ranges, await readNodes(d1, orgId, nodesOf(ranges)));
}

/** The leaf's hash and its audit path in the tree of `treeSize` leaves. */
export async function inclusionProof(d1: D1Database, orgId: string, leafIndex: number, treeSize: number) {
  const ranges = inclusionRanges(leafIndex, treeSize);
  const leaf = { level: 0, index: leafIndex };
  const node = await readNodes(d1, orgId, [leaf, ...nodesOf(ranges)]);
  return { leafHash: node(leaf), path: await hashRanges(ranges, node) };
}

/** The complete-subtree roots of the first n leaves, largest first: what a range starting at leaf n needs. */
export async function compactRangeAt(d1: D1Database, orgId: string, n: number): Promise<Uint8Array[]> {
  const nodes = compactRangeNodes(n);
  const node = await readNodes(d1, orgId, nodes);
  return nodes.map(node);
}

/** The compact range before the row of `seq` (tree_size = seq − 1), as exports and archives carry it. */
export const compactRangeBefore = async (d1: D1Database, orgId: string, seq: number): Promise<CompactRangeJson> =>
  compactRangeJson(seq - 1, await compactRangeAt(d1, orgId, seq - 1));

export const rootAt = async (d1: D1Database, orgId: string, n: number) => foldRight(await compactRangeAt(d1, orgId, n));

export type SignedTreeHead = { organization_id: string; tree_size: number; checkpoint: string };

const signedTreeHeadOf = (row: { organizationId: string; seq: number; treeHead: string | null }): SignedTreeHead => ({
  organization_id: row.organizationId,
  tree_size: row.seq,
  checkpoint: row.treeHead!,
});

const headOfTreeHeadRow = (row: { organizationId: string; treeSize: number; note: string }): SignedTreeHead => ({
  organization_id: row.organizationId,
  tree_size: row.treeSize,
  checkpoint: row.note,
});

/** The newest signed tree head of the organization, if any: a checkpoint's or one signed on its own. */
export async function newestTreeHead(db: Database, orgId: string): Promise<SignedTreeHead | null> {
  const [fromCheckpoint] = await db
    .select({ organizationId: checkpoints.organizationId, seq: checkpoints.seq, treeHead: checkpoints.treeHead })
    .from(checkpoints)
    .where(and(eq(checkpoints.organizationId, orgId), isNotNull(checkpoints.treeHead)))
    .orderBy(desc(checkpoints.seq))
    .limit(1);
  const [onItsOwn] = await db.select().from(treeHeads).where(eq(treeHeads.organizationId, orgId)).orderBy(desc(treeHeads.treeSize)).limit(1);
  if (onItsOwn && (!fromCheckpoint || onItsOwn.treeSize > fromCheckpoint.seq)) return headOfTreeHeadRow(onItsOwn);
  return fromCheckpoint ? signedTreeHeadOf(fromCheckpoint) : null;
}

/** The signed tree head of exactly `size` leaves, if one was issued (with a checkpoint or on its own). */
export async function treeHeadOfSize(db: Database, orgId: string, size: number): Promise<SignedTreeHead | null> {
  const [row] = await db
    .select({ organizationId: checkpoints.organizationId, seq: checkpoints.seq, treeHead: checkpoints.treeHead })
    .from(checkpoints)
    .where(and(eq(checkpoints.organizationId, orgId), eq(checkpoints.seq, size), isNotNull(checkpoints.treeHead)))
    .limit(1);
  if (row) return signedTreeHeadOf(row);
  const [onItsOwn] = await db.select().from(treeHeads).where(and(eq(treeHeads.organizationId, orgId), eq(treeHeads.treeSize, size))).limit(1);
  return onItsOwn ? headOfTreeHeadRow(onItsOwn) : null;
}
