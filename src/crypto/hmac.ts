import { toHex, utf8 } from "./encoding";

// workers-types has no KeyUsage; these are the only usages an HMAC key can have.
export type KeyUsage = "sign" | "verify";

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? utf8(data) : data;
}

export function importHmacKey(
  raw: Uint8Array | string,
  usages: KeyUsage[] = ["sign"],
): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", bytesOf(raw), { name: "HMAC", hash: "SHA-256" }, false, usages);
}

/** The tag as WebCrypto answers it, without another async frame around it (appends seal one per record). */
export const hmacSha256Bytes = (key: CryptoKey, data: Uint8Array): Promise<ArrayBuffer> => crypto.subtle.sign("HMAC", key, data);

export async function hmacSha256(key: CryptoKey, data: string | Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, bytesOf(data)));
}

export async function hmacSha256Hex(key: CryptoKey, data: string | Uint8Array): Promise<string> {
  return toHex(await hmacSha256(key, data));
}

/** Full-length (32-byte) tags only; the key needs the "verify" usage. */
export function verifyHmacSha256(
  key: CryptoKey,
  data: string | Uint8Array,
  tag: Uint8Array,
): Promise<boolean> {
  return crypto.subtle.verify("HMAC", key, tag, bytesOf(data));
}
