import { z } from "@hono/zod-openapi";

export const CheckpointSchema = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    seq: z.number().int(),
    row_hmac: z.string(),
    issued_at: z.string(),
    kind: z.enum(["head", "prune"]),
    kid: z.string(),
    statement: z.string().openapi({ description: "The exact JCS text that was signed" }),
    signature: z.string().openapi({ description: "base64url Ed25519 signature of `statement`" }),
    tree_head: z.string().nullable().openapi({
      description: "The signed tree head of tree size `seq` (a C2SP checkpoint note, docs/protocol.md §12); null if the organization's Merkle tree was still being built",
    }),
  })
  .openapi("Checkpoint");

/** CompactRangeJson (src/crypto/merkle/compact-range.ts) as exports and archives carry it. */
export const CompactRangeSchema = z
  .object({
    tree_size: z.number().int().openapi({ description: "How many leaves it covers: the first seq of the range, minus one" }),
    hashes: z.array(z.string()).openapi({ description: "hex SHA-256 roots of the complete subtrees of those leaves, largest first (one per set bit of tree_size)" }),
  })
  .openapi("CompactRange");

const organizationValidation = {
  organization_id: z.string(),
  valid: z.boolean(),
  broken_at: z.string().nullable(),
  broken_seq: z.number().int().nullable(),
  broken_reason: z.string().nullable(),
  checked: z.number().int(),
  unchained: z.number().int(),
  first_seq: z.number().int().nullable(),
  last_seq: z.number().int().nullable(),
  next_start_id: z.string().nullable(),
  checkpoint_seq: z.number().int().nullable(),
  tail_protected: z.boolean().openapi({
    description: "false when no CHECKPOINT_SIGNING_KEY is configured: no signed checkpoint guards the tail, so a cut tail cannot be detected",
  }),
  rows_held: z.number().int().nullable().openapi({
    description: "Rows the organization holds (walked + unchained + pruned), on a walk from genesis to the head; null otherwise",
  }),
  // Defaults: runs stored before retention existed carry neither.
  pruned: z.number().int().default(0).openapi({ description: "Rows pruned by retention behind the newest prune anchor (archived in R2)" }),
  pruned_through_seq: z.number().int().nullable().default(null).openapi({ description: "The last seq pruned: the live chain starts after it" }),
  complete: z.boolean(),
};

export const OrganizationValidationSchema = z.object(organizationValidation).openapi("OrganizationValidation");

export const ValidationSchema = z
  .object({
    valid: z.boolean(),
    broken_at: z.string().nullable(),
    broken_reason: z.string().nullable(),
    checked: z.number().int(),
    unchained: z.number().int(),
    organization_id: z.string().nullable(),
    next_start_id: z.string().nullable(),
    tail_protected: z.boolean().optional(),
    next_cursor: z.string().nullable().optional().openapi({ description: "Without organization_id: pass as `cursor` to continue; null when done" }),
    organizations: z.array(OrganizationValidationSchema).optional(),
  })
  .catchall(z.unknown())
  .openapi("Validation");
