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

type Level = { isArray: boolean; index: number; key: string | undefined; keys: Set<string> | undefined };

export const REPEATED_MEMBER = "repeats a member name of its object (I-JSON, RFC 7493 §2.3): JSON parsers would keep only one of them";
export const PROTO_MEMBER = '"__proto__" is not accepted as a member name: JavaScript objects cannot hold it as data';

/**
 * Scans raw JSON text once, without parsing or recursing, for what parsing would hide or lose: nesting
 * beyond MAX_BODY_DEPTH (answered with the path of the value at the fourth level of the deepest
 * branch, which nests deeper than MAX_JSON_DEPTH), and, unless `memberNames` is false, a member
 * name repeated within one object or named `__proto__` (answered with that member's path): a parser
 * keeps the last of two equal names and drops `__proto__`, so what was sealed would silently differ
 * from what was sent. Undefined when the body has none of these.
 */
export function rawBodyProblem(text: string, memberNames = true): { field: string; message: string } | undefined {
  const open: Level[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const start = i;
      let escaped = false;
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === "\\") {
          escaped = true;
          i++;
        }
      }
      const top = open.at(-1);
      if (expectKey && top) {
        top.key = escaped ? decodeKey(text.slice(start, i + 1)) : text.slice(start + 1, i);
        if (memberNames) {
          if (top.key === "__proto__") return { field: pathOf(open), message: PROTO_MEMBER };
          top.keys ??= new Set();
          if (top.keys.has(top.key)) return { field: pathOf(open), message: REPEATED_MEMBER };
          top.keys.add(top.key);
        }
      }
    } else if (ch === "{" || ch === "[") {
      if (open.length === MAX_BODY_DEPTH) return { field: pathOf(open.slice(0, MAX_BODY_DEPTH - MAX_JSON_DEPTH)), message: TOO_DEEP };
      open.push({ isArray: ch === "[", index: 0, key: undefined, keys: undefined });
      expectKey = ch === "{";
    } else if (ch === "}" || ch === "]") {
      open.pop();
      expectKey = false;
    } else if (ch === ",") {
      const top = open.at(-1);
      if (top?.isArray) top.index++;
      expectKey = top !== undefined && !top.isArray;
    } else if (ch === ":") {
      expectKey = false;
    }
  }
  return undefined;
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
