import type { AuditKeyring } from "../../crypto/keys";
import type { Database } from "../../db/client";
import { keyRotateRecordsBefore } from "./store";
import { KeyEpochs, type KeyRotation, storedRotationOf } from "./walker";

/**
 * The keys no rotation may open at `seq` (docs/protocol.md §2): the SECRET_KEY-derived fallback,
 * which seals only the epoch a chain starts with, and every key whose epoch a rotation before
 * `seq` closed. A walk starting mid-chain is given them; the chain object refuses to rotate into one.
 */
export async function closedKeyIdsBefore(db: Database, keyring: AuditKeyring, orgId: string, seq: number): Promise<string[]> {
  const rotations: KeyRotation[] = [];
  for (const row of await keyRotateRecordsBefore(db, orgId, seq)) {
    const rotation = storedRotationOf("key_rotate", row.metadata);
    if (rotation && row.keyId === rotation.new_key_id) rotations.push(rotation);
  }
  return closedByRotations(keyring.derivedId ? [keyring.derivedId] : [], rotations);
}

/**
 * The keys closed after `rotations` (in chain order), counting only those the walk would accept: a
 * rotation into a closed key, into itself or out of a key not in force closes nothing. A forged
 * rotation must not close the current key, or one planted row would stop every append.
 */
export function closedByRotations(closedAtStart: readonly string[], rotations: readonly KeyRotation[]): string[] {
  // Each rotation as the walk reads it: sealed with the key it opens (the caller keeps only those).
  const epochs = new KeyEpochs(null, closedAtStart);
  for (const rotation of rotations) if (epochs.admits(rotation.new_key_id, rotation)) epochs.enter(rotation.new_key_id, rotation);
  return epochs.closedKeyIds();
}
