import { timingSafeEqualStrings } from "../../crypto/constant-time";
import type { AuditRecord } from "./record";
import type { StoredRow } from "./stored-row";
import { sealedMessage } from "./record";

export type BreakReason =
  | "prev_hash mismatch"
  | "row_hmac mismatch"
  | "seq gap"
  | "seq out of order"
  | "unknown key_id"
  | "key_id out of epoch"
  | "organization mismatch"
  | "checkpoint mismatch"
  | "seq out of range"
  | "unchained row not covered by an import"
  | "imported row missing or no longer unchained"
  | "imported rows do not match their import record"
  | "row count mismatch"
  | "anchor mismatch"
  | "archive missing"
  | "archive mismatch"
  | "row behind prune anchor";

export type ChainBreak = { id: string | null; seq: number | null; reason: BreakReason };

/** HMAC-SHA256 hex of `message` under the key named `keyId`, or null when no such key is configured. */
export type RowHasher = (keyId: string, message: string) => Promise<string | null> | string | null;

/**
 * Where a walk starts: the link into its first row, the key epoch in force there (the key_id of
 * the row before it; null at genesis or when unknown, and the first row then opens it), and the
 * keys whose epochs closed before it: no rotation may reopen one.
 */
export type WalkStart = {
  organizationId: string;
  seq: number;
  prevHash: string | null;
  epochKeyId?: string | null;
  closedKeyIds?: readonly string[];
};

/** Whether a row's row_hmac is the seal of its content under its key_id's key. */
export type SealCheck = "valid" | "invalid" | "unknown_key";

/** chainproof's own key_rotate record: it closes `previous_key_id`'s epoch and opens `new_key_id`'s (docs/protocol.md, keys). */
export type KeyRotation = { previous_key_id: string; new_key_id: string };

/** What the walk checks the links with; the seal itself is recomputed by whoever feeds the walker. */
export type ChainLink = Pick<AuditRecord, "id" | "organization_id" | "seq" | "key_id" | "prev_hash" | "row_hmac"> & {
  rotation: KeyRotation | null;
};

/** Marks the records chainproof writes itself; clients may not send it (the append API refuses it). */
export const OWN_RECORD_SOURCE = "chainproof";

/**
 * The rotation a record states, if it is chainproof's own key_rotate record. Clients may record
 * their own platform's key_rotate actions; those carry no such statement and open no epoch.
 */
export function keyRotationOf(action: string, metadata: unknown): KeyRotation | null {
  if (action !== "key_rotate" || typeof metadata !== "object" || metadata === null) return null;
  const m = metadata as Record<string, unknown>;
  if (m.source !== OWN_RECORD_SOURCE || typeof m.previous_key_id !== "string" || typeof m.new_key_id !== "string") return null;
  return { previous_key_id: m.previous_key_id, new_key_id: m.new_key_id };
}

/** A record as the walker reads it. */
export const linkOfRecord = (r: AuditRecord): ChainLink => ({ ...r, rotation: keyRotationOf(r.action, r.metadata) });

/**
 * The rotation a stored row states, from its metadata's stored text. Only key_rotate records can
 * open a key epoch, so other rows' metadata is never parsed here.
 */
export function storedRotationOf(action: string, metadata: string): KeyRotation | null {
  if (action !== "key_rotate") return null;
  try {
    return keyRotationOf(action, JSON.parse(metadata));
  } catch {
    // Its seal check fails wherever it is walked; it states no rotation.
    return null;
  }
}

/** A stored row as the walker reads it. */
export const chainLinkOf = (row: StoredRow): ChainLink => ({
  id: row.id,
  organization_id: row.organizationId,
  seq: row.seq,
  key_id: row.keyId,
  prev_hash: row.prevHash,
  row_hmac: row.rowHmac,
  rotation: storedRotationOf(row.action, row.metadata),
});

/**
 * The key epoch rule (docs/protocol.md §3), alone: the key in force and the keys whose epochs closed.
 * Pure and keyless, so every walk applies the same rule: ChainWalker after each row's seal, the CLI's
 * keyless tree walk to the rows the signed tree proves (key_id and metadata are in their leaves), and
 * closedByRotations to a chain's key_rotate records.
 */
export class KeyEpochs {
  /** The only key that may seal the next row, unless that row is a rotation out of it; null: the next row opens it. */
  epochKeyId: string | null;
  readonly #closedKeyIds: Set<string>;

  constructor(epochKeyId: string | null = null, closedKeyIds: readonly string[] = []) {
    this.epochKeyId = epochKeyId;
    this.#closedKeyIds = new Set(closedKeyIds);
  }

  /**
   * Whether a row sealed with `keyId` (stating `rotation`, if any) may come next. A key_rotate record
   * closes its previous key's epoch: after it only the new key seals rows, so a retired (possibly
   * leaked) key or the SECRET_KEY-derived fallback cannot seal new rows. A rotation is sealed with
   * the key it opens, out of the epoch in force, into a key that never had an epoch closed:
   * otherwise a retired key could rotate the chain back to itself.
   */
  admits(keyId: string, rotation: KeyRotation | null): boolean {
    if (!rotation) return this.epochKeyId === null || keyId === this.epochKeyId;
    return (
      keyId === rotation.new_key_id &&
      rotation.new_key_id !== rotation.previous_key_id &&
      (this.epochKeyId === null || rotation.previous_key_id === this.epochKeyId) &&
      !this.#closedKeyIds.has(rotation.new_key_id)
    );
  }

  /** Moves past a row it admitted: its key is now in force, and a rotation closes the epoch it leaves. */
  enter(keyId: string, rotation: KeyRotation | null): void {
    this.epochKeyId = keyId;
    if (rotation) this.#closedKeyIds.add(rotation.previous_key_id);
  }

  /** The keys no rotation may open any more. */
  closedKeyIds(): string[] {
    return [...this.#closedKeyIds];
  }
}

/**
 * Walks one organization's rows in seq order and stops at the first broken link. Pure: the API
 * feeds it pages from D1, the CLI lines of an export; each supplies its own HMAC.
 */
export class ChainWalker {
  checked = 0;
  lastSeq: number;
  lastRowHmac: string | null;
  lastId: string | null = null;
  broken: ChainBreak | null = null;
  readonly #organizationId: string;
  readonly #hash: RowHasher;
  readonly #epochs: KeyEpochs;

  constructor(start: WalkStart, hash: RowHasher) {
    this.#organizationId = start.organizationId;
    this.lastSeq = start.seq - 1;
    this.lastRowHmac = start.prevHash;
    this.#epochs = new KeyEpochs(start.epochKeyId ?? null, start.closedKeyIds ?? []);
    this.#hash = hash;
  }

  /**
   * Checks the next row, recomputing its seal, against the row_hmacs that signed checkpoints state
   * for its seq; returns the break it found (and keeps it), or null.
   */
  async push(row: AuditRecord, checkpointRowHmacs?: readonly string[]): Promise<ChainBreak | null> {
    if (this.broken) return this.broken;
    const expected = row.key_id === null ? null : await this.#hash(row.key_id, sealedMessage(row));
    const seal: SealCheck =
      expected === null ? "unknown_key" : row.row_hmac !== null && timingSafeEqualStrings(expected, row.row_hmac) ? "valid" : "invalid";
    return this.pushSealed(linkOfRecord(row), seal, checkpointRowHmacs);
  }

  /** Checks the next row with its seal already checked by the caller, who may check a whole page at once. */
  pushSealed(row: ChainLink, seal: SealCheck, checkpointRowHmacs?: readonly string[]): ChainBreak | null {
    if (this.broken) return this.broken;
    const reason = this.#check(row, seal, checkpointRowHmacs ?? []);
    if (reason) {
      this.broken = { id: row.id, seq: row.seq, reason };
      return this.broken;
    }
    this.checked++;
    this.lastSeq = row.seq!;
    this.lastRowHmac = row.row_hmac;
    this.lastId = row.id;
    this.#epochs.enter(row.key_id!, row.rotation);
    return null;
  }

  /** At the end of the chain: a signed checkpoint beyond the last row means the tail was cut. */
  finish(newestCheckpoint: { seq: number; row_hmac: string } | null): ChainBreak | null {
    if (!this.broken && newestCheckpoint && newestCheckpoint.seq > this.lastSeq) {
      this.broken = { id: null, seq: this.lastSeq + 1, reason: "checkpoint mismatch" };
    }
    return this.broken;
  }

  /** The only key that may seal the next row, unless that row is a rotation out of it. */
  get epochKeyId(): string | null {
    return this.#epochs.epochKeyId;
  }

  #check(row: ChainLink, seal: SealCheck, checkpointRowHmacs: readonly string[]): BreakReason | null {
    if (row.organization_id !== this.#organizationId) return "organization mismatch";
    if (row.seq === null || row.seq < this.lastSeq + 1) return "seq out of order";
    if (row.seq > this.lastSeq + 1) return "seq gap";
    if (row.prev_hash !== this.lastRowHmac) return "prev_hash mismatch";
    if (row.key_id === null || seal === "unknown_key") return "unknown key_id";
    if (seal !== "valid") return "row_hmac mismatch";
    if (!this.#epochs.admits(row.key_id, row.rotation)) return "key_id out of epoch";
    if (checkpointRowHmacs.some((signed) => signed !== row.row_hmac)) return "checkpoint mismatch";
    return null;
  }
}
