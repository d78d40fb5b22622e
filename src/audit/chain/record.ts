import type { z } from "@hono/zod-openapi";
import { canonicalJson } from "../../crypto/jcs";
import type { AuditRecordSchema } from "./record-schema";

// The record's members and its canonical form, with no runtime dependency but JCS: the offline
// verifier bundles this file (scripts/build-verifier.ts), so it must not pull in the schema's
// validation library or the D1 tables (stored-row.ts).

export type AuditRecord = z.infer<typeof AuditRecordSchema>;
export type RecordMember = keyof AuditRecord;

/**
 * Every member, in the order of the contract: export lines, CSV columns and the D1 insert follow it.
 * Written out rather than read from AuditRecordSchema (see above); the compiler refuses a name the
 * schema lacks and test/record.unit.test.ts that it misses one or orders them otherwise.
 */
export const RECORD_MEMBERS = [
  "id",
  "organization_id",
  "seq",
  "site_id",
  "actor_id",
  "action",
  "resource_type",
  "resource_id",
  "status",
  "ip_address",
  "user_agent",
  "changes",
  "previous_state",
  "new_state",
  "metadata",
  "timestamp",
  "recorded_at",
  "key_id",
  "prev_hash",
  "row_hmac",
] as const satisfies readonly RecordMember[];

/** The members row_hmac seals: all but the two that link the chain (docs/protocol.md §1). */
export const SEALED_MEMBERS = RECORD_MEMBERS.filter((m) => m !== "prev_hash" && m !== "row_hmac");

/** Members whose value is a JSON object: D1 stores their RFC 8785 text. */
export const JSON_MEMBERS: ReadonlySet<RecordMember> = new Set(["changes", "previous_state", "new_state", "metadata"]);

/** What a caller hands the chain: everything but what the Durable Object assigns when sealing. */
export type PendingRecord = Omit<AuditRecord, "seq" | "recorded_at" | "key_id" | "prev_hash" | "row_hmac">;

/** canonical(row) of docs/protocol.md §1: exactly the sealed members, missing values as null. */
export function canonicalRow(r: Omit<AuditRecord, "prev_hash" | "row_hmac">): string {
  return canonicalJson(Object.fromEntries(SEALED_MEMBERS.map((m) => [m, r[m] ?? null])));
}

/** The bytes HMAC'd for a row: utf8(prev_hash ?? "") || utf8(canonical(row)). */
export const sealedMessage = (r: Omit<AuditRecord, "row_hmac">) => (r.prev_hash ?? "") + canonicalRow(r);
