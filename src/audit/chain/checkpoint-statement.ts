import { canonicalJson } from "../../crypto/jcs";

/** A signed checkpoint as the API answers it and stores it (docs/protocol.md §6). */
export type Checkpoint = {
  id: string;
  organization_id: string;
  seq: number;
  row_hmac: string;
  issued_at: string;
  kind: "head" | "prune";
  kid: string;
  statement: string;
  signature: string;
  /** The signed tree head of size seq (docs/protocol.md §12); null for checkpoints issued before the tree was built. */
  tree_head: string | null;
};

/**
 * The signed statement of a checkpoint (docs/protocol.md §6). Apart from checkpoints.ts, which
 * stores and signs them, so that the offline verifier bundles this without the D1 layer.
 */
export const statementOf = (c: Pick<Checkpoint, "organization_id" | "seq" | "row_hmac" | "issued_at" | "kind">) =>
  canonicalJson({
    type: "chainproof.checkpoint.v1",
    organization_id: c.organization_id,
    seq: c.seq,
    row_hmac: c.row_hmac,
    issued_at: c.issued_at,
    kind: c.kind,
  });
