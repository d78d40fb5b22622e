import { timingSafeEqualStrings } from "../crypto/constant-time";
import type { AuditRecord } from "./record";
import { sealedMessage } from "./record";

export type BreakReason =
  | "prev_hash mismatch"
  | "row_hmac mismatch"
  | "seq gap"
  | "seq out of order"
  | "unknown key_id"
  | "organization mismatch"
  | "checkpoint mismatch";

export type ChainBreak = { id: string | null; seq: number | null; reason: BreakReason };

/** HMAC-SHA256 hex of `message` under the key named `keyId`, or null when no such key is configured. */
export type RowHasher = (keyId: string, message: string) => Promise<string | null> | string | null;

export type WalkStart = { organizationId: string; seq: number; prevHash: string | null };

/** Whether a row's row_hmac is the seal of its content under its key_id's key. */
export type SealCheck = "valid" | "invalid" | "unknown_key";

/** What the walk checks the links with; the seal itself is recomputed by whoever feeds the walker. */
export type ChainLink = Pick<AuditRecord, "id" | "organization_id" | "seq" | "key_id" | "prev_hash" | "row_hmac">;

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

  constructor(start: WalkStart, hash: RowHasher) {
    this.#organizationId = start.organizationId;
    this.lastSeq = start.seq - 1;
    this.lastRowHmac = start.prevHash;
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
    return this.pushSealed(row, seal, checkpointRowHmacs);
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
    return null;
  }

  /** At the end of the chain: a signed checkpoint beyond the last row means the tail was cut. */
  finish(newestCheckpoint: { seq: number; row_hmac: string } | null): ChainBreak | null {
    if (!this.broken && newestCheckpoint && newestCheckpoint.seq > this.lastSeq) {
      this.broken = { id: null, seq: this.lastSeq + 1, reason: "checkpoint mismatch" };
    }
    return this.broken;
  }

  #check(row: ChainLink, seal: SealCheck, checkpointRowHmacs: readonly string[]): BreakReason | null {
    if (row.organization_id !== this.#organizationId) return "organization mismatch";
    if (row.seq === null || row.seq < this.lastSeq + 1) return "seq out of order";
    if (row.seq > this.lastSeq + 1) return "seq gap";
    if (row.prev_hash !== this.lastRowHmac) return "prev_hash mismatch";
    if (row.key_id === null || seal === "unknown_key") return "unknown key_id";
    if (seal !== "valid") return "row_hmac mismatch";
    if (checkpointRowHmacs.some((signed) => signed !== row.row_hmac)) return "checkpoint mismatch";
    return null;
  }
}
