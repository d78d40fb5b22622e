import canonicalize from "canonicalize";

/**
 * RFC 8785 serialization. canonicalize@5 throws on NaN/±Infinity and on lone
 * surrogates in values and keys, at any depth (pinned by the tests so a library
 * change cannot silently weaken it). Like JSON.stringify it drops
 * undefined/function members and honours toJSON: callers seal plain JSON data only.
 */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new Error("JCS: value has no JSON representation");
  return out;
}

export const IJSON_VIOLATION = "not I-JSON: integer beyond ±(2^53−1), non-finite number or lone surrogate";

/**
 * Paths of values that would not round-trip through JCS in every language (RFC 7493):
 * unsafe integers, non-finite numbers, lone surrogates in strings or keys.
 */
export function ijsonViolations(value: unknown, path = ""): string[] {
  const found: string[] = [];
  walk(value, path, found);
  return found;
}

// In /u mode a valid pair is one code point, so only lone surrogates match \p{Cs}.
// (String#isWellFormed is ES2024; tsconfig targets es2023 libs.)
const LONE_SURROGATE = /\p{Cs}/u;

function walk(value: unknown, path: string, found: string[]): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
      found.push(path);
    }
  } else if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) found.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${path}[${i}]`, found));
  } else if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === "" ? key : `${path}.${key}`;
      if (LONE_SURROGATE.test(key)) found.push(childPath);
      walk(child, childPath, found);
    }
  }
}
