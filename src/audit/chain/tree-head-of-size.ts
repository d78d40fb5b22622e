import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { availableCheckpointSigner, issueCheckpoint } from "./checkpoints";
import { rowAtSeq } from "./store";
import { rootAt, treeHeadOfSize } from "./tree-proofs";
import { treeSize } from "./tree-store";
import { InconsistentTreeHead } from "./tree-witness";

/**
 * A signed tree head of exactly `size` leaves: a range of rows ending at seq `size` is checked by
 * recomputing root(size) from its leaves (and the compact range before it), so a larger head would
 * not do. An existing checkpoint's head when there is one; otherwise a checkpoint of that row is
 * signed now (its tree head proven consistent with the witness, as every checkpoint's is). Null
 * without a signing key, while the tree does not reach `size` yet, or when the row is gone.
 */
export async function signedTreeHeadOfSize(env: Env, db: Database, orgId: string, size: number): Promise<string | null> {
  const existing = await treeHeadOfSize(db, orgId, size);
  if (existing) return existing.checkpoint;
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
