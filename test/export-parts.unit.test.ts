import { describe, expect, it } from "vitest";
import { type Cursor, PartFiller, type Position } from "../src/audit/export/parts";

// Pieces as an export writes them: multi-byte UTF-8 (2, 3 and 4 bytes) so that part ends fall inside
// characters, and one piece longer than a whole part.
const HEADER = "id,seq\r\n";
const rows = ["ä-row-1\n", "€€€-row-2\n", "plain-row-3\n", "😀".repeat(9) + "\n", "x".repeat(23) + "ß\n", "tail\n"];
const SIZE = 16;
const after = (i: number): Position => ({ afterSeq: i + 1, headerDone: true });
const bytesOf = (text: string) => new TextEncoder().encode(text);

/** Runs the stream from `cursor` as job.ts does, taking at most `maxParts` full parts; returns them and the cursor after each. */
function run(cursor: Cursor, maxParts: number) {
  const filler = new PartFiller(SIZE, { afterSeq: cursor.afterSeq, headerDone: cursor.headerDone });
  let skip = cursor.skip;
  if (!cursor.headerDone) {
    filler.add(HEADER, { afterSeq: 0, headerDone: true }, skip);
    skip = 0;
  }
  const parts: { bytes: number[]; cursor: Cursor }[] = [];
  let next = cursor.afterSeq;
  for (;;) {
    while (!filler.full && next < rows.length) {
      filler.add(rows[next]!, after(next), skip);
      skip = 0;
      next++;
    }
    const { bytes, cursor: resumeAt } = filler.take();
    // A copy: the buffer is reused for the next part.
    parts.push({ bytes: [...bytes], cursor: resumeAt });
    if (!filler.full || parts.length === maxParts) return { parts, done: !filler.full };
    filler.next();
  }
}

describe("export parts", () => {
  const whole = [...bytesOf(HEADER + rows.join(""))];

  it("cuts the byte stream into parts of exactly the part size, in one reused buffer", () => {
    const { parts, done } = run({ afterSeq: 0, headerDone: false, skip: 0 }, 100);
    expect(done).toBe(true);
    expect(parts.flatMap((p) => p.bytes)).toEqual(whole);
    expect(parts.slice(0, -1).every((p) => p.bytes.length === SIZE)).toBe(true);
    expect(parts.length).toBe(Math.ceil(whole.length / SIZE));
    // A part that ends inside the 4-byte emoji row resumes within that row.
    expect(parts.map((p) => p.cursor).some((c) => c.afterSeq === 3 && c.skip > 0)).toBe(true);
  });

  it("resumes from every saved cursor to exactly the bytes not yet uploaded", () => {
    const { parts } = run({ afterSeq: 0, headerDone: false, skip: 0 }, 100);
    let uploaded = 0;
    for (const part of parts.slice(0, -1)) {
      uploaded += part.bytes.length;
      const resumed = run(part.cursor, 100);
      expect(resumed.parts.flatMap((p) => p.bytes)).toEqual(whole.slice(uploaded));
    }
  });

  it("continues slice after slice (one part per slice) to the same bytes", () => {
    let cursor: Cursor = { afterSeq: 0, headerDone: false, skip: 0 };
    const got: number[] = [];
    for (let slices = 0; ; slices++) {
      expect(slices).toBeLessThan(50);
      const { parts, done } = run(cursor, 1);
      got.push(...parts[0]!.bytes);
      if (done) break;
      cursor = parts[0]!.cursor;
    }
    expect(got).toEqual(whole);
  });
});
