import { z } from "@hono/zod-openapi";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "./enums";

const jsonObject = z.record(z.string(), z.unknown());

export const AuditRecordSchema = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    seq: z.number().int().nullable(),
    site_id: z.string().nullable(),
    actor_id: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    resource_type: z.enum(RESOURCE_TYPES),
    resource_id: z.string().nullable().openapi({
      description: "A UUID or the platform's own id (1–128 of A–Z a–z 0–9 . _ : -); chainproof's own records of a service (its backups included) carry the service id",
    }),
    status: z.enum(["success", "failure"]),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    changes: jsonObject.nullable(),
    previous_state: jsonObject.nullable(),
    new_state: jsonObject.nullable(),
    metadata: jsonObject,
    timestamp: z.string(),
    recorded_at: z.string(),
    key_id: z.string().nullable(),
    prev_hash: z.string().nullable(),
    row_hmac: z.string().nullable(),
  })
  .openapi("AuditLogRecord");

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
  })
  .openapi("Checkpoint");

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
    description: "Rows the organization holds (walked + unchained), on a walk from genesis to the head; null otherwise",
  }),
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
