import { z } from "@hono/zod-openapi";
import { IJSON_VIOLATION, ijsonViolations } from "../crypto/jcs";

/**
 * How deeply a free-form JSON value (metadata, states, settings) may nest; `{}` is one level.
 * Deeper values break parsers that recurse (Python's json stops near 1,000) and our own
 * recursive walks, so they are refused at the API.
 */
export const MAX_JSON_DEPTH = 64;
// A batch record's fields sit three levels down (body, records, record). Up to here the parsed
// check below names the field; past it the raw scan refuses the body before anything parses it.
const MAX_BODY_DEPTH = MAX_JSON_DEPTH + 3;
export const TOO_DEEP = `nests deeper than ${MAX_JSON_DEPTH} levels`;

// Names seen in one object: a short list is cheaper to search than a Set is to build, and most
// objects hold a handful of members.
type Level = { isArray: boolean; index: number; key: string | undefined; keys: string[] | Set<string> | undefined };
const LIST_KEYS_UP_TO = 16;

export const REPEATED_MEMBER = "repeats a member name of its object (I-JSON, RFC 7493 §2.3): JSON parsers would keep only one of them";
export const PROTO_MEMBER = '"__proto__" is not accepted as a member name: JavaScript objects cannot hold it as data';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Scans raw JSON text once, without parsing or recursing, for what parsing would hide or lose: nesting
 * beyond MAX_BODY_DEPTH (answered with the path of the value at the fourth level of the deepest
 * branch, which nests deeper than MAX_JSON_DEPTH), and, unless `memberNames` is false, a member
 * name repeated within one object or named `__proto__` (answered with that member's path): a parser
 * keeps the last of two equal names and drops `__proto__`, so what was sealed would silently differ
 * from what was sent. Undefined when the body has none of these. It runs on every body, a batch's
 * megabytes too: strings are skipped with indexOf, not a character at a time.
 */
export function rawBodyProblem(text: string, memberNames = true): { field: string; message: string } | undefined {
  const open: Level[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      const start = i;
      i = closingQuote(text, i);
      const top = open.at(-1);
      if (expectKey && top) {
        const raw = text.slice(start + 1, i);
        top.key = raw.includes("\\") ? decodeKey(text.slice(start, i + 1)) : raw;
        if (memberNames) {
          if (top.key === "__proto__") return { field: pathOf(open), message: PROTO_MEMBER };
          if (!rememberKey(top, top.key)) return { field: pathOf(open), message: REPEATED_MEMBER };
        }
      }
    } else if (ch === 0x7b || ch === 0x5b) {
      if (open.length === MAX_BODY_DEPTH) return { field: pathOf(open.slice(0, MAX_BODY_DEPTH - MAX_JSON_DEPTH)), message: TOO_DEEP };
      open.push({ isArray: ch === 0x5b, index: 0, key: undefined, keys: undefined });
      expectKey = ch === 0x7b;
    } else if (ch === 0x7d || ch === 0x5d) {
      open.pop();
      expectKey = false;
    } else if (ch === 0x2c) {
      const top = open.at(-1);
      if (top?.isArray) top.index++;
      expectKey = top !== undefined && !top.isArray;
    } else if (ch === 0x3a) {
      expectKey = false;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `open` (one not escaped), or the text's end. */
function closingQuote(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return text.length;
}

/** Adds `key` to the names seen in `level`; false when it was there already. */
function rememberKey(level: Level, key: string): boolean {
  const keys = (level.keys ??= []);
  if (Array.isArray(keys)) {
    if (keys.includes(key)) return false;
    keys.push(key);
    if (keys.length > LIST_KEYS_UP_TO) level.keys = new Set(keys);
    return true;
  }
  if (keys.has(key)) return false;
  keys.add(key);
  return true;
}

/** The path to the value held by the innermost of `parents`. */
const pathOf = (parents: Level[]) => parents.map((level) => (level.isArray ? String(level.index) : (level.key ?? ""))).join(".");

function decodeKey(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

/** Levels of nesting of a parsed JSON value, walked without recursion; stops once past `limit`. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: current, depth } = pending.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(current)) pending.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** A free-form JSON value nests at most MAX_JSON_DEPTH levels. */
export const shallow = <T extends z.ZodType>(schema: T) => schema.refine((value) => !jsonDepthExceeds(value, MAX_JSON_DEPTH), TOO_DEEP);

/** A JSON object whose content the client chooses, bounded in depth. */
export const freeFormObject = shallow(z.record(z.string(), z.unknown()));

/**
 * Refuses, field by field, whatever would not canonicalize alike in every language (I-JSON,
 * docs/protocol.md §1): text that may reach a sealed record is checked before anything is sealed.
 */
export const ijson = <T extends z.ZodType>(schema: T) =>
  schema.superRefine((value, ctx) => {
    for (const path of ijsonViolations(value)) ctx.addIssue({ code: "custom", message: IJSON_VIOLATION, path: path === "" ? [] : [path] });
  });
