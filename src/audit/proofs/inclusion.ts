import { toHex } from "../../crypto/encoding";
import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { AppError, invalid } from "../../http/errors";
import { checkpointNow } from "../chain/append";
import { availableCheckpointSigner } from "../chain/checkpoints";
import { inclusionProof, newestTreeHead, type SignedTreeHead, treeHeadOfSize } from "../chain/tree-proofs";

/** The newest signed tree head; when none covers `atLeast` yet, the chain object signs its head now. */
export async function currentTreeHead(env: Env, db: Database, orgId: string, atLeast: number): Promise<SignedTreeHead | null> {
  const newest = await newestTreeHead(db, orgId);
  if (newest && newest.tree_size >= atLeast) return newest;
  if (!(await availableCheckpointSigner(env))) {
    throw new AppError(503, "not_configured", "Tree heads cannot be signed: CHECKPOINT_SIGNING_KEY is not configured");
  }
  const checkpoint = await checkpointNow(env, orgId);
  if (!checkpoint) return null;
  if (!checkpoint.tree_head) {
    throw new AppError(503, "tree_building", "The organization's Merkle tree is still being built from its chain; try again shortly", {
      headers: { "Retry-After": "10" },
    });
  }
  return { organization_id: orgId, tree_size: checkpoint.seq, checkpoint: checkpoint.tree_head };
}

/**
 * The inclusion proof (docs/protocol.md §12) of the record of `seq`: against the signed tree head of
 * `treeSize`, or by default the newest (signed now if none covers the record yet). The API route
 * answers it and the dashboard's record page shows it, so both give the same proof.
 */
export async function inclusionAnswer(env: Env, db: Database, orgId: string, seq: number, treeSize?: number) {
  if (treeSize !== undefined && treeSize < seq) {
    throw invalid([{ field: "tree_size", message: `must be at least ${seq}, the record's seq` }]);
  }
  const head = treeSize === undefined ? await currentTreeHead(env, db, orgId, seq) : await treeHeadOfSize(db, orgId, treeSize);
  if (!head) throw invalid([{ field: "tree_size", message: `no signed tree head of size ${treeSize} was issued` }]);
  const proof = await inclusionProof(env.DB, orgId, seq - 1, head.tree_size);
  return {
    organization_id: orgId,
    leaf_index: seq - 1,
    tree_size: head.tree_size,
    leaf_hash: toHex(proof.leafHash),
    inclusion: proof.path.map(toHex),
    checkpoint: head.checkpoint,
  };
}
