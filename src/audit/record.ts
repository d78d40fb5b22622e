import type { auditLogs } from "../db/schema";
import { canonicalJson } from "../crypto/jcs";
import type { AuditAction, ResourceType } from "./enums";

type JsonObject = Record<string, unknown>;

/** A record as the API shows it and as docs/protocol.md §1 seals it (plus prev_hash and row_hmac). */
export type AuditRecord = {
  id: string;
  organization_id: string;
  seq: number | null;
  site_id: string | null;
  actor_id: string;
  action: AuditAction;
  resource_type: ResourceType;
  resource_id: string | null;
  status: "success" | "failure";
  ip_address: string | null;
  user_agent: string | null;
  changes: JsonObject | null;
  previous_state: JsonObject | null;
  new_state: JsonObject | null;
  metadata: JsonObject;
  timestamp: string;
  recorded_at: string;
  key_id: string | null;
  prev_hash: string | null;
  row_hmac: string | null;
};

/** What a caller hands the chain: everything but what the Durable Object assigns when sealing. */
export type PendingRecord = Omit<AuditRecord, "seq" | "recorded_at" | "key_id" | "prev_hash" | "row_hmac">;

export type StoredRow = typeof auditLogs.$inferSelect;

/** canonical(row) of docs/protocol.md §1: exactly the 18 sealed members, missing values as null. */
export function canonicalRow(r: Omit<AuditRecord, "prev_hash" | "row_hmac">): string {
  return canonicalJson({
    id: r.id,
    organization_id: r.organization_id,
    seq: r.seq,
    site_id: r.site_id,
    actor_id: r.actor_id,
    action: r.action,
    resource_type: r.resource_type,
    resource_id: r.resource_id,
    status: r.status,
    ip_address: r.ip_address,
    user_agent: r.user_agent,
    changes: r.changes,
    previous_state: r.previous_state,
    new_state: r.new_state,
    metadata: r.metadata,
    timestamp: r.timestamp,
    recorded_at: r.recorded_at,
    key_id: r.key_id,
  });
}

/** The bytes HMAC'd for a row: utf8(prev_hash ?? "") || utf8(canonical(row)). */
export const sealedMessage = (r: Omit<AuditRecord, "row_hmac">) => (r.prev_hash ?? "") + canonicalRow(r);

const jcsString = (v: string | null) => (v === null ? "null" : JSON.stringify(v));

/**
 * canonical(row) straight from the stored columns: members in JCS order, strings as JCS writes
 * them (JSON.stringify, for well-formed text), JSON columns as the JCS text they are stored as.
 * Equal to canonicalRow(recordFromRow(row)) whenever the stored JSON is canonical, without parsing.
 */
export function canonicalStoredRow(r: StoredRow): string {
  return (
    `{"action":${jcsString(r.action)},"actor_id":${jcsString(r.actorId)},"changes":${r.changes ?? "null"},` +
    `"id":${jcsString(r.id)},"ip_address":${jcsString(r.ipAddress)},"key_id":${jcsString(r.keyId)},` +
    `"metadata":${r.metadata},"new_state":${r.newState ?? "null"},"organization_id":${jcsString(r.organizationId)},` +
    `"previous_state":${r.previousState ?? "null"},"recorded_at":${jcsString(r.recordedAt)},` +
    `"resource_id":${jcsString(r.resourceId)},"resource_type":${jcsString(r.resourceType)},` +
    `"seq":${r.seq === null ? "null" : String(r.seq)},"site_id":${jcsString(r.siteId)},"status":${jcsString(r.status)},` +
    `"timestamp":${jcsString(r.timestamp)},"user_agent":${jcsString(r.userAgent)}}`
  );
}

const jsonText = (v: JsonObject | null) => (v === null ? null : canonicalJson(v));

/** The row as D1 stores it: JSON columns as their JCS text, each computed once. */
export function toStoredRow(r: AuditRecord): StoredRow {
  return {
    id: r.id,
    organizationId: r.organization_id,
    seq: r.seq,
    siteId: r.site_id,
    actorId: r.actor_id,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    status: r.status,
    ipAddress: r.ip_address,
    userAgent: r.user_agent,
    changes: jsonText(r.changes),
    previousState: jsonText(r.previous_state),
    newState: jsonText(r.new_state),
    metadata: canonicalJson(r.metadata),
    timestamp: r.timestamp,
    recordedAt: r.recorded_at,
    keyId: r.key_id,
    prevHash: r.prev_hash,
    rowHmac: r.row_hmac,
  };
}

const parseJson = (text: string | null) => (text === null ? null : (JSON.parse(text) as JsonObject));

export function recordFromRow(row: StoredRow): AuditRecord {
  return {
    id: row.id,
    organization_id: row.organizationId,
    seq: row.seq,
    site_id: row.siteId,
    actor_id: row.actorId,
    action: row.action as AuditAction,
    resource_type: row.resourceType as ResourceType,
    resource_id: row.resourceId,
    status: row.status as AuditRecord["status"],
    ip_address: row.ipAddress,
    user_agent: row.userAgent,
    changes: parseJson(row.changes),
    previous_state: parseJson(row.previousState),
    new_state: parseJson(row.newState),
    metadata: parseJson(row.metadata) ?? {},
    timestamp: row.timestamp,
    recorded_at: row.recordedAt,
    key_id: row.keyId,
    prev_hash: row.prevHash,
    row_hmac: row.rowHmac,
  };
}
