import type { AuditKeyring } from "../../crypto/keys";
import { fromHex } from "../../crypto/encoding";
import { hmacSha256Hex, verifyHmacSha256 } from "../../crypto/hmac";
import type { RowHasher, SealCheck } from "./walker";
import { canonicalStoredRow, recordFromRow, sealedMessage, type StoredRow } from "./record";

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

/**
 * Checks each stored row's seal, a page at a time (WebCrypto verify: constant time, no hex round
 * trip). Fast: over the stored text as is. If that fails, the exact JCS of the parsed values
 * decides, so stored JSON with other bytes but the same meaning still verifies.
 */
export async function sealChecks(keyring: AuditKeyring, rows: StoredRow[]): Promise<SealCheck[]> {
  return Promise.all(
    rows.map(async (row): Promise<SealCheck> => {
      const key = row.keyId === null ? undefined : keyring.byId.get(row.keyId);
      if (!key) return "unknown_key";
      const tag = sealBytes(row.rowHmac);
      // Each JSON column must be one JSON value on its own, or text could move between two
      // adjacent columns and still spell the same sealed bytes.
      if (!tag || ![row.changes, row.previousState, row.newState, row.metadata].every(isJsonValue)) return "invalid";
      if (await verifyHmacSha256(key, (row.prevHash ?? "") + canonicalStoredRow(row), tag)) return "valid";
      try {
        return (await verifyHmacSha256(key, sealedMessage(recordFromRow(row)), tag)) ? "valid" : "invalid";
      } catch {
        // Stored JSON that no longer parses, or text JCS refuses: it cannot match its seal.
        return "invalid";
      }
    }),
  );
}

/** A stored row_hmac as the 32 bytes it names, or null if it is not 64 hex digits. */
function sealBytes(rowHmac: string | null) {
  if (rowHmac === null || rowHmac.length !== 64) return null;
  try {
    return fromHex(rowHmac);
  } catch {
    return null;
  }
}

