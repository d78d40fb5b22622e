/**
 * Where the byte stream stands: after the CSV header, after chained row `afterSeq`, and, once the
 * chain is through, after legacy (unchained) row `legacyAfterId` ("" before the first one).
 */
export type Position = { afterSeq: number; headerDone: boolean; legacyAfterId?: string };
/** Where the next part begins: at `Position`, minus `skip` bytes of the next piece already uploaded. */
export type Cursor = Position & { skip: number };

const encoder = new TextEncoder();

type Carry = { bytes: Uint8Array; offset: number; before: Position };

/**
 * Cuts the export's byte stream into parts of exactly `size` bytes in ONE buffer, reused for every
 * part: each piece of text (the CSV header, a row) is encoded straight into it. Only a piece that
 * straddles the end of a part is encoded on its own, and its rest opens the next part. Memory stays
 * one part whatever the export's length (a queue of encoded rows per part held four parts per slice).
 */
export class PartFiller {
  readonly #part: Uint8Array;
  #filled = 0;
  #carry: Carry | null = null;
  /** Where the stream stands after the last piece added (carried bytes included). */
  position: Position;

  constructor(size: number, start: Position) {
    this.#part = new Uint8Array(size);
    this.position = start;
  }

  get full() {
    return this.#filled === this.#part.byteLength;
  }

  /** Nothing written or carried since the last part was taken. */
  get empty() {
    return this.#filled === 0 && this.#carry === null;
  }

  /** Appends a piece that moves the stream to `after`, without its first `skip` bytes (already uploaded). Not when full. */
  add(text: string, after: Position, skip = 0) {
    const before = this.position;
    this.position = after;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: if that fits, the piece goes straight in.
    if (skip === 0 && text.length * 3 <= this.#part.byteLength - this.#filled) {
      this.#filled += encoder.encodeInto(text, this.#part.subarray(this.#filled)).written;
      return;
    }
    this.#carry = { bytes: encoder.encode(text), offset: skip, before };
    this.#drainCarry();
  }

  /**
   * The bytes written so far (a view of the reused buffer: upload it before calling next()), and the
   * cursor where the following part begins.
   */
  take(): { bytes: Uint8Array; cursor: Cursor } {
    const cursor = this.#carry ? { ...this.#carry.before, skip: this.#carry.offset } : { ...this.position, skip: 0 };
    return { bytes: this.#part.subarray(0, this.#filled), cursor };
  }

  /** Starts the next part in the same buffer, with the rest of a piece that straddled the last one. */
  next() {
    this.#filled = 0;
    if (this.#carry) this.#drainCarry();
  }

  #drainCarry() {
    const carry = this.#carry!;
    const n = Math.min(carry.bytes.byteLength - carry.offset, this.#part.byteLength - this.#filled);
    this.#part.set(carry.bytes.subarray(carry.offset, carry.offset + n), this.#filled);
    this.#filled += n;
    carry.offset += n;
    if (carry.offset === carry.bytes.byteLength) this.#carry = null;
  }
}
