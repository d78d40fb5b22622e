import type { Database } from "../../db/client";
import { treeHeads } from "../../db/schema";
import type { Env } from "../../env";
import { signTreeHead } from "../../crypto/merkle/tree-head";
import { isoNow } from "../../time";
import { availableCheckpointSigner, publicKeys } from "./checkpoints";
import { rootAt, treeHeadOfSize } from "./tree-proofs";
import { treeSize } from "./tree-store";
import { advanceTreeWitness, InconsistentTreeHead } from "./tree-witness";

/**
 * A signed tree head of exactly `size` leaves: a range of rows ending at seq `size` is checked by
 * recomputing root(size) from its leaves (and the compact range before it), so a larger head would
 * not do. An existing one (a checkpoint's, or one signed before) when there is one; otherwise the
 * tree head alone is signed now, proven consistent with the witness and kept in `tree_heads`. Not a
 * checkpoint: that states the organization's head at a moment, and `size` may be behind the head.
 * Null without a signing key or while the tree does not reach `size` yet.
 */
export async function signedTreeHeadOfSize(env: Env, db: Database, orgId: string, size: number): Promise<string | null> {
  const existing = await treeHeadOfSize(db, orgId, size);
  if (existing) return existing.checkpoint;
  const signer = await availableCheckpointSigner(env);
  if (!signer || (await treeSize(env.DB, orgId)) < size) return null;
  const head = { organizationId: orgId, size, root: await rootAt(env.DB, orgId, size) };
  const note = await signTreeHead(head, signer);
  try {
    await advanceTreeWitness(env, { ...head, note }, await publicKeys(env));
  } catch (err) {
    // The chain object raises this at its next checkpoint; what asked for the head goes without one.
    if (!(err instanceof InconsistentTreeHead)) throw err;
    console.error(`organization ${orgId}: no tree head of size ${size}: ${err.message}`);
    return null;
  }
  // Two signers of the same size race harmlessly: both notes are valid; the first one kept is answered.
  await db.insert(treeHeads).values({ organizationId: orgId, treeSize: size, issuedAt: isoNow(), note }).onConflictDoNothing();
  return (await treeHeadOfSize(db, orgId, size))?.checkpoint ?? note;
}
