import { z } from "@hono/zod-openapi";
import { IJSON_VIOLATION, ijsonViolations } from "../../crypto/jcs";
import type { FieldError } from "../../http/errors";
import { freeFormObject, shallow } from "../../http/json-input";
import { occurredAt } from "../../http/query";
import { OWN_RECORD_SOURCE } from "./walker";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "./enums";
import type { PendingRecord } from "./record";

export const MAX_RECORD_BYTES = 64 * 1024;
export const MAX_BATCH = 1000;

// The generator writes both as format "ip", a duplicate pair in anyOf; JSON Schema names them apart.
export const ipAddress = z.union([z.ipv4().openapi({ format: "ipv4" }), z.ipv6().openapi({ format: "ipv6" })], {
  error: "must be a valid IPv4 or IPv6 address",
});

const SERVER_ASSIGNED = "is assigned by the server and must not be sent";
const serverAssigned = z
  .never({ error: SERVER_ASSIGNED })
  .optional()
  .openapi({ type: "null", not: {}, description: "Assigned by the server; a request that sends it is rejected with 422" });

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id of the resource a record is about: a UUID, or the calling platform's own id (docs/protocol.md
 * §1). Appends, filters, lookups and service ids all take this one definition, so every id a
 * record may carry can also be searched for. A UUID is taken in any case and kept in lowercase, like
 * every UUID the API takes (RFC 9562 reads them case-insensitively); the platform's own ids keep their case.
 */
export const resourceId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be a UUID or the platform's own id: 1 to 128 of A-Z a-z 0-9 . _ : - (e.g. svc_0a1b)")
  .transform((id) => (UUID_SHAPE.test(id) ? id.toLowerCase() : id))
  .openapi({ description: "A UUID (any case, kept in lowercase), or the platform's own id: 1–128 of A–Z a–z 0–9 . _ : -", example: "svc_0a1b" });

export const AuditRecordInput = z
  .object({
    organization_id: z.uuid().toLowerCase().optional().openapi({ description: "Required for super_admin; otherwise the caller's own" }),
    site_id: z.uuid().toLowerCase().nullable().optional(),
    actor_id: z.uuid().toLowerCase(),
    action: z.enum(AUDIT_ACTIONS),
    resource_type: z.enum(RESOURCE_TYPES),
    resource_id: resourceId.nullable().optional(),
    status: z.enum(["success", "failure"]),
    ip_address: ipAddress.nullable().optional(),
    user_agent: z.string().max(512).nullable().optional(),
    changes: shallow(z.record(z.string(), z.object({ old: z.unknown(), new: z.unknown() }).strict())).nullable().optional(),
    previous_state: freeFormObject.nullable().optional(),
    new_state: freeFormObject.nullable().optional(),
    metadata: freeFormObject.optional(),
    timestamp: occurredAt.optional(),
    id: serverAssigned,
    seq: serverAssigned,
    prev_hash: serverAssigned,
    row_hmac: serverAssigned,
    recorded_at: serverAssigned,
    key_id: serverAssigned,
  })
  .strict()
  .openapi("AuditRecordInput");

export type AuditRecordInput = z.infer<typeof AuditRecordInput>;

/** A record from an older system without a chain: it keeps its id and time, and gets no seal. */
export const LegacyRecordInput = AuditRecordInput.omit({ organization_id: true, id: true, timestamp: true })
  .extend({ id: z.uuid().toLowerCase(), timestamp: occurredAt })
  .strict()
  .openapi("LegacyRecordInput");

export const ImportInput = z
  .object({ organization_id: z.uuid().toLowerCase(), records: z.array(LegacyRecordInput).min(1).max(MAX_BATCH) })
  .strict()
  .openapi("LegacyImport");

export const BatchInput = z.object({ records: z.array(AuditRecordInput).min(1).max(MAX_BATCH) }).strict().openapi("AuditBatchInput");

/**
 * The checks a schema cannot express: the 64 KiB limit, I-JSON (RFC 7493) so every language
 * canonicalizes the row alike, and the organization the record may be written to.
 */
export function recordProblems(raw: unknown, namedOrgId: string | undefined, allowedOrgId: string, prefix = ""): FieldError[] {
  const problems: FieldError[] = [];
  const field = (name: string) => (prefix ? `${prefix}.${name}` : name);
  const bytes = new TextEncoder().encode(JSON.stringify(raw)).byteLength;
  if (bytes > MAX_RECORD_BYTES) {
    // Named by its largest member, the one to shorten.
    const largest = largestMember(raw);
    problems.push({
      field: largest ? field(largest.name) : prefix || "body",
      message: `record exceeds ${MAX_RECORD_BYTES} bytes of JSON (${bytes}${largest ? `, of which this field holds ${largest.bytes}` : ""})`,
    });
  }
  for (const path of ijsonViolations(raw)) {
    problems.push({ field: field(path), message: IJSON_VIOLATION });
  }
  const metadata = (raw as { metadata?: unknown } | null)?.metadata;
  if (typeof metadata === "object" && metadata !== null && (metadata as Record<string, unknown>).source === OWN_RECORD_SOURCE) {
    // The mark by which validation knows chainproof's own key_rotate and import records.
    problems.push({ field: field("metadata.source"), message: `"${OWN_RECORD_SOURCE}" is reserved for records chainproof writes itself` });
  }
  if (namedOrgId !== undefined && namedOrgId !== allowedOrgId) {
    problems.push({ field: field("organization_id"), message: "is not an organization you may write to" });
  }
  return problems;
}

function largestMember(raw: unknown): { name: string; bytes: number } | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  let largest: { name: string; bytes: number } | undefined;
  for (const [name, value] of Object.entries(raw)) {
    const bytes = new TextEncoder().encode(JSON.stringify(value) ?? "").byteLength;
    if (!largest || bytes > largest.bytes) largest = { name, bytes };
  }
  return largest;
}

/** The fields a caller may set on a record, whichever way it arrives. */
type ClientFields = Omit<AuditRecordInput, "organization_id" | "id" | "seq" | "prev_hash" | "row_hmac" | "recorded_at" | "key_id">;

export function toPendingRecord(input: ClientFields, organizationId: string, now: string): PendingRecord {
  return {
    id: crypto.randomUUID(),
    organization_id: organizationId,
    site_id: input.site_id ?? null,
    actor_id: input.actor_id,
    action: input.action,
    resource_type: input.resource_type,
    resource_id: input.resource_id ?? null,
    status: input.status,
    ip_address: input.ip_address ?? null,
    user_agent: input.user_agent ?? null,
    changes: (input.changes as PendingRecord["changes"]) ?? null,
    previous_state: input.previous_state ?? null,
    new_state: input.new_state ?? null,
    metadata: input.metadata ?? {},
    timestamp: input.timestamp ?? now,
  };
}
