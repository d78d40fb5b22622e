import { verifyTreeHead } from "../../crypto/merkle/tree-head";
import { verifyConsistency } from "../../crypto/merkle/verify";
import type { Env } from "../../env";
import { consistencyProof } from "./tree-proofs";

/** A new tree head that the stored witness head is not a proven prefix of (or the other way round). */
export class InconsistentTreeHead extends Error {}

const treeWitnessKey = (orgId: string) => `checkpoints/${orgId}/tree-head.txt`;

/**
 * The R2 witness of the tree only moves forward: a new head replaces it only when the stored head
 * is proven (RFC 9162 consistency, from the tiles) to be a prefix of it. A head older than the
 * witness must be a prefix of the witness. Anything else throws InconsistentTreeHead.
 */
export async function advanceTreeWitness(
  env: Env,
  head: { organizationId: string; size: number; root: Uint8Array; note: string },
  keys: readonly { x: string }[],
): Promise<void> {
  const stored = await env.ARCHIVE.get(treeWitnessKey(head.organizationId));
  const witness = stored ? await verifyTreeHead(await stored.text(), keys) : null;
  if (witness && witness.ok && witness.head.organizationId === head.organizationId) {
    const [older, newer] = witness.head.size <= head.size ? [witness.head, head] : [head, witness.head];
    const proof = older.size === 0 ? [] : await consistencyProof(env.DB, head.organizationId, older.size, newer.size);
    const consistent = older.size === 0 || (await verifyConsistency(older.size, newer.size, older.root, newer.root, proof));
    if (!consistent) {
      throw new InconsistentTreeHead(
        `the tree head of size ${head.size} is not consistent with the witnessed head of size ${witness.head.size}; the witness is kept`,
      );
    }
    if (witness.head.size >= head.size) return;
  } else if (witness) {
    console.error(`organization ${head.organizationId}: the witnessed tree head does not verify (${witness.ok ? "another organization" : witness.reason}); it is replaced`);
  }
  // Only over the witness just checked: a head signed meanwhile (by the chain object, an export or
  // a prune, all at sizes it has reached) is not overwritten by this one, which may be older.
  await env.ARCHIVE.put(treeWitnessKey(head.organizationId), head.note, {
    httpMetadata: { contentType: "text/plain; charset=utf-8" },
    ...(stored ? { onlyIf: { etagMatches: stored.etag } } : {}),
  });
}
