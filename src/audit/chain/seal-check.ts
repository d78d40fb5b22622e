import type { AuditKeyring } from "../../crypto/keys";
import { hexInto } from "../../crypto/encoding";
import { hmacSha256Hex, verifyHmacSha256 } from "../../crypto/hmac";
import type { RowHasher, SealCheck } from "./walker";
import { sealedMessage } from "./record";
import { canonicalStoredRow, recordFromRow, type StoredRow } from "./stored-row";

export const keyringHasher = (keyring: AuditKeyring): RowHasher => {
  return async (keyId, message) => {
    const key = keyring.byId.get(keyId);
    return key ? hmacSha256Hex(key, message) : null;
  };
};

function isJsonValue(text: string | null) {
  if (text === null) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const encoder = new TextEncoder();
// Every message is encoded into one buffer: WebCrypto copies its input when called, so the next
// row may overwrite it at once. A fresh buffer per row was a tenth of a validation's CPU (and GC).
let scratch = new Uint8Array(64 * 1024);

function messageBytes(text: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (text.length * 3 > scratch.byteLength) scratch = new Uint8Array(text.length * 3);
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}

/** A row's seal against the stored text as is: a verdict at once, or WebCrypto's. */
function fastVerdict(keyring: AuditKeyring, row: StoredRow, tag: Uint8Array | null): SealCheck | Promise<boolean> {
  const key = row.keyId === null ? undefined : keyring.byId.get(row.keyId);
  if (!key) return "unknown_key";
  // Each JSON column must be one JSON value on its own, or text could move between two
  // adjacent columns and still spell the same sealed bytes.
  if (!tag || !isJsonValue(row.changes) || !isJsonValue(row.previousState) || !isJsonValue(row.newState) || !isJsonValue(row.metadata)) return "invalid";
  return verifyHmacSha256(key, messageBytes((row.prevHash ?? "") + canonicalStoredRow(row)), tag);
}

/** The seal against the exact JCS of the row's parsed values: stored JSON with other bytes but the same meaning. */
async function exactVerdict(keyring: AuditKeyring, row: StoredRow, tag: Uint8Array): Promise<SealCheck> {
  try {
    return (await verifyHmacSha256(keyring.byId.get(row.keyId!)!, sealedMessage(recordFromRow(row)), tag)) ? "valid" : "invalid";
  } catch {
    // Stored JSON that no longer parses, or text JCS refuses: it cannot match its seal.
    return "invalid";
  }
}

/**
 * Checks each stored row's seal, a page at a time (WebCrypto verify: constant time, no hex round
 * trip). Fast: over the stored text as is, one WebCrypto promise per row and nothing else. If that
 * fails, the exact JCS of the parsed values decides.
 */
export async function sealChecks(keyring: AuditKeyring, rows: StoredRow[]): Promise<SealCheck[]> {
  const tags = sealBytes(rows);
  const verdicts = await Promise.all(rows.map((row, i) => fastVerdict(keyring, row, tags[i]!)));
  const checks: SealCheck[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const verdict = verdicts[i]!;
    checks[i] = verdict === true ? "valid" : verdict === false ? await exactVerdict(keyring, rows[i]!, tags[i]!) : verdict;
  }
  return checks;
}

/**
 * Each row's row_hmac as the 32 bytes it names (null if it is not 64 hex digits), all in one buffer:
 * a tag of its own is a small on-heap array that V8 moves into a new ArrayBuffer when WebCrypto reads
 * it, 2.8% of a validation's CPU (docs/architecture.md, "Where a validation's time goes").
 */
function sealBytes(rows: StoredRow[]): (Uint8Array | null)[] {
  const all = new Uint8Array(32 * rows.length);
  return rows.map(({ rowHmac }, i) => {
    const tag = all.subarray(32 * i, 32 * i + 32);
    return rowHmac !== null && rowHmac.length === 64 && hexInto(rowHmac, tag) ? tag : null;
  });
}
