import { JsonSyntaxError, MAX_JSON_DEPTH, scanJson } from "../src/compliance/json-scan";

// JSON.parse keeps the LAST of two equal member names without a word, so a line that writes
// "status" twice reads as one record to the verifier and as another to whoever reads the text
// (RFC 8785 and I-JSON forbid repeated names). Scanning every line with the full scanner costs about
// three JSON.parse's; counting the names written against the members parsed costs about one, and
// only a line that differs is scanned to name the repeated one.

const BACKSLASH = 0x5c;
const COLON = 0x3a;
const isWhitespace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/**
 * Member names written in `text`, which must be valid JSON: every string followed by a colon.
 * Strings are skipped whole (a quote ends one unless an odd run of backslashes precedes it), so a
 * colon or quote inside a value is never counted.
 */
function namesWritten(text: string): number {
  let names = 0;
  let open = text.indexOf('"');
  while (open !== -1) {
    let close = text.indexOf('"', open + 1);
    for (;;) {
      let backslashes = 0;
      while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) break;
      close = text.indexOf('"', close + 1);
    }
    let next = close + 1;
    while (isWhitespace(text.charCodeAt(next))) next++;
    if (text.charCodeAt(next) === COLON) names++;
    open = text.indexOf('"', next);
  }
  return names;
}

/** Members of every object in a parsed JSON value, at any depth. */
function membersParsed(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let members = 0;
  if (Array.isArray(value)) {
    for (const item of value) members += membersParsed(item);
    return members;
  }
  for (const name in value) members += 1 + membersParsed((value as Record<string, unknown>)[name]);
  return members;
}

// A record is one level above the free-form values in it, which the API bounds at the same 64 levels
// (src/http/json-input.ts).
const RECORD_DEPTH = MAX_JSON_DEPTH + 1;

/**
 * "duplicate member NAME" when some object of `text` writes a member name twice, else null.
 * `parsed` is what JSON.parse read from `text`: it holds one member for each name written twice.
 */
export function duplicateMember(text: string, parsed: unknown): string | null {
  if (namesWritten(text) === membersParsed(parsed)) return null;
  let name: string | undefined;
  try {
    name = scanJson(text, RECORD_DEPTH).duplicate?.name;
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
  }
  // The counts differ, so a name repeats; only an object nested deeper than a record's cannot say which.
  return name === undefined ? "duplicate member name" : `duplicate member ${name}`;
}
