import { utf8 } from "../encoding";

/** RFC 6962 hashing (docs/protocol.md §12): 0x00 before a leaf's bytes, 0x01 before two children. */
export const HASH_BYTES = 32;

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const leafInput = (data: Uint8Array) => {
  const input = new Uint8Array(data.length + 1);
  input.set(data, 1);
  return input;
};

export const leafHashOf = (data: Uint8Array): Promise<Uint8Array> => sha256(leafInput(data));

/** leaf_hash(row) = SHA-256(0x00 || utf8(canonical(row))). */
export const leafHashOfCanonical = (canonical: string) => leafHashOf(utf8(canonical));

function nodeInput(left: Uint8Array, right: Uint8Array) {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return input;
}

export const nodeHash = (left: Uint8Array, right: Uint8Array): Promise<Uint8Array> => sha256(nodeInput(left, right));

/**
 * Many hashes with one await: every digest is started before any is awaited. On the append path a
 * promise and an async frame per 32-byte hash cost more CPU than the hashing itself.
 */
async function sha256All(inputs: Uint8Array[]): Promise<Uint8Array[]> {
  const digests = await Promise.all(inputs.map((input) => crypto.subtle.digest("SHA-256", input)));
  return digests.map((digest) => new Uint8Array(digest));
}

export const leafHashesOf = (data: readonly Uint8Array[]) => sha256All(data.map(leafInput));

/** nodeHash(left[i], right[i]) for every i. */
export const nodeHashesOf = (pairs: readonly (readonly [Uint8Array, Uint8Array])[]) => sha256All(pairs.map(([l, r]) => nodeInput(l, r)));

/** MTH of the empty tree: SHA-256 of nothing, no prefix. */
export const emptyRoot = () => sha256(new Uint8Array(0));

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
