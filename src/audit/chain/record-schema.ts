import { z } from "@hono/zod-openapi";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "./enums";

const jsonObject = z.record(z.string(), z.unknown());

/**
 * The audit record as the API answers it, exports carry it and docs/protocol.md §1 seals it. The
 * TypeScript type (`AuditRecord`) derives from it; `RECORD_MEMBERS` (record.ts) lists the same
 * members in the same order, which a test pins.
 */
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
