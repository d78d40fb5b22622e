/**
 * A strict JSON scanner (RFC 8259) that keeps what JSON.parse throws away: where each top-level
 * member's value starts and ends in the raw text, and whether any object repeats a member name.
 * JSON.parse silently keeps the LAST of two equal names, so a signed file that repeats one can be
 * read differently by a verifier and by everyone else (docs/protocol.md §7).
 */

/** Deeper nesting is refused rather than followed: no report needs it, and it bounds the recursion. */
export const MAX_JSON_DEPTH = 64;

/** The text is not JSON (or nests too deep); `at` is the offset (UTF-16 code units) where it fails. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(`${message} at position ${at}`);
  }
}

export type ScannedMember = {
  /** The decoded name: `"rep\u006frt"` is `report`. */
  name: string;
  /** The value's exact span in the text: `text.slice(valueStart, valueEnd)`. */
  valueStart: number;
  valueEnd: number;
};

export type JsonScan = {
  /** The members of the top-level object, every occurrence, in text order; null when the top level is not an object. */
  topLevel: ScannedMember[] | null;
  /** The first member name that some object repeats, and where its second occurrence starts. */
  duplicate: { name: string; at: number } | null;
  /** Where non-whitespace text follows the top-level value; that text is not scanned. */
  trailingAt: number | null;
};

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

class Scanner {
  pos = 0;
  duplicate: JsonScan["duplicate"] = null;

  constructor(
    readonly text: string,
    readonly maxDepth: number,
  ) {}

  fail(message: string, at = this.pos): never {
    throw new JsonSyntaxError(message, at);
  }

  skipWhitespace() {
    while (this.pos < this.text.length && WHITESPACE.has(this.text[this.pos]!)) this.pos++;
  }

  expect(char: string) {
    if (this.text[this.pos] !== char) this.fail(this.pos < this.text.length ? `expected "${char}"` : "unexpected end of text");
    this.pos++;
  }

  /** One value starting at `pos` (no leading whitespace); returns the top-level members when it is an object. */
  value(depth: number): ScannedMember[] | null {
    const char = this.text[this.pos];
    if (char === "{") return this.object(depth + 1);
    if (char === "[") this.array(depth + 1);
    else if (char === '"') this.string();
    else if (char === "t" || char === "f" || char === "n") this.literal();
    else this.number();
    return null;
  }

  object(depth: number): ScannedMember[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    this.pos++;
    const members: ScannedMember[] = [];
    const names = new Set<string>();
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return members;
    }
    for (;;) {
      this.skipWhitespace();
      const nameAt = this.pos;
      if (this.text[this.pos] !== '"') this.fail("expected a member name");
      const name = this.string();
      if (names.has(name)) this.duplicate ??= { name, at: nameAt };
      names.add(name);
      this.skipWhitespace();
      this.expect(":");
      this.skipWhitespace();
      const valueStart = this.pos;
      this.value(depth);
      members.push({ name, valueStart, valueEnd: this.pos });
      this.skipWhitespace();
      if (this.text[this.pos] === ",") {
        this.pos++;
        continue;
      }
      this.expect("}");
      return members;
    }
  }

  array(depth: number) {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
    this.pos++;
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      this.value(depth);
      this.skipWhitespace();
      if (this.text[this.pos] === ",") {
        this.pos++;
        continue;
      }
      this.expect("]");
      return;
    }
  }

  /** A string starting at its opening quote; returns its decoded value. */
  string(): string {
    const text = this.text;
    this.pos++;
    let decoded = "";
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= text.length) this.fail("unterminated string");
      const code = text.charCodeAt(this.pos);
      if (code === 0x22) break;
      if (code < 0x20) this.fail("unescaped control character in a string");
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      decoded += text.slice(runStart, this.pos);
      const escape = text[this.pos + 1];
      if (escape === "u") {
        const hex = text.slice(this.pos + 2, this.pos + 6);
        if (!HEX4.test(hex)) this.fail("invalid \\u escape");
        decoded += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else {
        const simple = escape === undefined ? undefined : SIMPLE_ESCAPES[escape];
        if (simple === undefined) this.fail("invalid escape");
        decoded += simple;
        this.pos += 2;
      }
      runStart = this.pos;
    }
    decoded += text.slice(runStart, this.pos);
    this.pos++;
    return decoded;
  }

  literal() {
    for (const word of ["true", "false", "null"]) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    this.fail("invalid literal");
  }

  number() {
    NUMBER.lastIndex = this.pos;
    if (!NUMBER.test(this.text)) this.fail(this.pos < this.text.length ? "unexpected character" : "unexpected end of text");
    this.pos = NUMBER.lastIndex;
  }
}

/**
 * Scans one JSON text; throws JsonSyntaxError unless the text up to the end of its first value is
 * valid JSON nesting at most `maxDepth` levels.
 */
export function scanJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonScan {
  const scanner = new Scanner(text, maxDepth);
  scanner.skipWhitespace();
  const topLevel = scanner.value(0);
  scanner.skipWhitespace();
  return { topLevel, duplicate: scanner.duplicate, trailingAt: scanner.pos < text.length ? scanner.pos : null };
}
