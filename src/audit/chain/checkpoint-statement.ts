import { canonicalJson } from "../../crypto/jcs";
import type { Checkpoint } from "./checkpoints";

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
