import { z } from "@hono/zod-openapi";
import { getTableColumns } from "drizzle-orm";
import { canonicalJson } from "../../crypto/jcs";
import { auditLogs } from "../../db/schema";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "./enums";

const jsonObject = z.record(z.string(), z.unknown());

/**
 * The audit record as the API answers it, exports carry it and docs/protocol.md §1 seals it: the one
 * list of its members. The TypeScript type, the sealed members, the D1 columns, the export and CSV
 * columns and the offline verifier's reader all derive from it, so no copy can drift from the seal.
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

export type AuditRecord = z.infer<typeof AuditRecordSchema>;
export type RecordMember = keyof AuditRecord;

/** Every member, in the order of the contract: export lines, CSV columns and the D1 insert follow it. */
export const RECORD_MEMBERS = AuditRecordSchema.keyof().options;

/** The members row_hmac seals: all but the two that link the chain (docs/protocol.md §1). */
export const SEALED_MEMBERS = RECORD_MEMBERS.filter((m) => m !== "prev_hash" && m !== "row_hmac");

/** Members whose value is a JSON object: D1 stores their RFC 8785 text. */
const JSON_MEMBERS: ReadonlySet<RecordMember> = new Set(["changes", "previous_state", "new_state", "metadata"]);

/** What a caller hands the chain: everything but what the Durable Object assigns when sealing. */
export type PendingRecord = Omit<AuditRecord, "seq" | "recorded_at" | "key_id" | "prev_hash" | "row_hmac">;

export type StoredRow = typeof auditLogs.$inferSelect;

/** The drizzle property that holds each member (the D1 column is named like the member). */
const STORED_KEY = Object.fromEntries(
  Object.entries(getTableColumns(auditLogs)).map(([key, column]) => [column.name, key as keyof StoredRow]),
) as Record<RecordMember, keyof StoredRow>;

/** canonical(row) of docs/protocol.md §1: exactly the sealed members, missing values as null. */
export function canonicalRow(r: Omit<AuditRecord, "prev_hash" | "row_hmac">): string {
  return canonicalJson(Object.fromEntries(SEALED_MEMBERS.map((m) => [m, r[m] ?? null])));
}

/** The bytes HMAC'd for a row: utf8(prev_hash ?? "") || utf8(canonical(row)). */
export const sealedMessage = (r: Omit<AuditRecord, "row_hmac">) => (r.prev_hash ?? "") + canonicalRow(r);

// The sealed members in JCS order (their names are ASCII, so code-unit order is plain sort order).
const CANONICAL_PLAN = [...SEALED_MEMBERS]
  .sort()
  .map((m, i) => ({ prefix: `${i === 0 ? "" : ","}${JSON.stringify(m)}:`, key: STORED_KEY[m], json: JSON_MEMBERS.has(m) }));

/**
 * canonical(row) straight from the stored columns, without parsing: JSON columns as the JCS text
 * they are stored as, other values as JCS writes them (JSON.stringify, for well-formed text).
 * Equal to canonicalRow(recordFromRow(row)) whenever the stored JSON is canonical; a test pins it.
 */
export function canonicalStoredRow(r: StoredRow): string {
  // A plain indexed loop: it runs once per row of every validation walk and every append.
  let out = "{";
  for (let i = 0; i < CANONICAL_PLAN.length; i++) {
    const step = CANONICAL_PLAN[i]!;
    const value = r[step.key];
    out += step.prefix + (value === null ? "null" : step.json ? (value as string) : JSON.stringify(value));
  }
  return `${out}}`;
}

/** The row as D1 stores it: JSON columns as their JCS text, each computed once. */
export function toStoredRow(r: AuditRecord): StoredRow {
  const row: Record<string, unknown> = {};
  for (const m of RECORD_MEMBERS) {
    const value = r[m];
    row[STORED_KEY[m]] = JSON_MEMBERS.has(m) && value !== null ? canonicalJson(value) : value;
  }
  return row as StoredRow;
}

export function recordFromRow(row: StoredRow): AuditRecord {
  const record: Record<string, unknown> = {};
  for (const m of RECORD_MEMBERS) {
    const value = row[STORED_KEY[m]];
    record[m] = JSON_MEMBERS.has(m) && value !== null ? JSON.parse(value as string) : value;
  }
  return record as AuditRecord;
}

/** A stored row as the values of RECORD_MEMBERS, in order: one D1 insert tuple. */
export const storedTuple = (row: StoredRow) => RECORD_MEMBERS.map((m) => row[STORED_KEY[m]]);
