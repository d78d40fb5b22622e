import { utf8 } from "../encoding";

/** RFC 6962 hashing (docs/protocol.md §12): 0x00 before a leaf's bytes, 0x01 before two children. */
export const HASH_BYTES = 32;

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function leafHashOf(data: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(data.length + 1);
  input.set(data, 1);
  return sha256(input);
}

/** leaf_hash(row) = SHA-256(0x00 || utf8(canonical(row))). */
export const leafHashOfCanonical = (canonical: string) => leafHashOf(utf8(canonical));

export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/** MTH of the empty tree: SHA-256 of nothing, no prefix. */
export const emptyRoot = () => sha256(new Uint8Array(0));

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
