import { toHex, utf8 } from "../../crypto/encoding";
import { hmacSha256Bytes } from "../../crypto/hmac";
import { leafHashesOf } from "../../crypto/merkle/hash";
import { type AuditRecord, type PendingRecord } from "./record";
import { canonicalStoredRow, recordFromRow, type StoredRow, toStoredRow } from "./stored-row";
import type { ChainHead } from "./store";
import { OWN_RECORD_SOURCE } from "./walker";

const ASCII = /^[\x00-\x7f]*$/;

/** The actor of records chainproof writes on its own account (key rotation). */
export const SYSTEM_ACTOR_ID = "00000000-0000-0000-0000-000000000000";

/**
 * What one commit writes: the stored rows with their Merkle leaf hashes (docs/protocol.md §12), each
 * request's sealed records and leaf hashes, and the new head.
 */
export type Sealed = { rows: StoredRow[]; leaves: Uint8Array[]; perRequest: AuditRecord[][]; perRequestLeaves: Uint8Array[][]; head: ChainHead };

/**
 * Seals requests' records in order after `head` with the current key (docs/protocol.md §1). When
 * the key changed since the head was sealed, a key_rotate record comes first: it closes the old
 * key's epoch (§3). Pure but for the HMAC; the Durable Object writes what it returns.
 */
export async function sealAfter(
  head: ChainHead | null,
  key: { id: string; key: CryptoKey },
  organizationId: string,
  recordedAt: string,
  requests: PendingRecord[][],
): Promise<Sealed> {
  const rows: StoredRow[] = [];
  const leafData: Uint8Array[] = [];
  const sealed: AuditRecord[] = [];
  const pendings = [...(head && head.keyId !== key.id ? [keyRotationRecord(organizationId, head.keyId, key.id, recordedAt)] : []), ...requests.flat()];
  // A plain loop with one await per record: each HMAC needs the one before it (prev_hash).
  for (const pending of pendings) {
    const record: AuditRecord = {
      ...pending,
      seq: (head?.seq ?? 0) + 1,
      recorded_at: recordedAt,
      key_id: key.id,
      prev_hash: head?.rowHmac ?? null,
      row_hmac: null,
    };
    // JSON columns are canonicalized once: the same text is sealed, stored and hashed as a leaf.
    const stored = toStoredRow(record);
    const canonical = canonicalStoredRow(stored);
    const prevHash = record.prev_hash ?? "";
    const message = utf8(prevHash + canonical);
    record.row_hmac = stored.rowHmac = toHex(await hmacSha256Bytes(key.key, message));
    head = { seq: record.seq!, rowHmac: record.row_hmac, keyId: record.key_id };
    rows.push(stored);
    // Answered as it is stored (members in order, JSON values as their canonical text reads), so a
    // replay, which reads it back from D1, answers the very same bytes.
    sealed.push(recordFromRow(stored));
    // prev_hash is hex, one byte a character: the row's own bytes are what follows it in the message.
    leafData.push(ASCII.test(prevHash) ? message.subarray(prevHash.length) : utf8(canonical));
  }
  // Leaves do not depend on one another: hashed together, after the chain.
  const leaves = await leafHashesOf(leafData);
  const perRequest: AuditRecord[][] = [];
  const perRequestLeaves: Uint8Array[][] = [];
  let next = pendings.length - requests.reduce((n, records) => n + records.length, 0);
  for (const records of requests) {
    perRequest.push(sealed.slice(next, next + records.length));
    perRequestLeaves.push(leaves.slice(next, next + records.length));
    next += records.length;
  }
  return { rows, leaves, perRequest, perRequestLeaves, head: head! };
}

function keyRotationRecord(organizationId: string, previousKeyId: string | null, newKeyId: string, at: string): PendingRecord {
  return {
    id: crypto.randomUUID(),
    organization_id: organizationId,
    site_id: null,
    actor_id: SYSTEM_ACTOR_ID,
    action: "key_rotate",
    resource_type: "setting",
    resource_id: null,
    status: "success",
    ip_address: null,
    user_agent: null,
    changes: { key_id: { old: previousKeyId, new: newKeyId } },
    previous_state: null,
    new_state: null,
    metadata: { source: OWN_RECORD_SOURCE, previous_key_id: previousKeyId, new_key_id: newKeyId },
    timestamp: at,
  };
}
