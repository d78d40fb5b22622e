import { utf8 } from "./encoding";

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? utf8(data) : data;
}

/** salt/info also accept raw bytes so RFC 5869's binary test vectors can be checked. */
export async function hkdfSha256(
  ikm: Uint8Array | string,
  salt: string | Uint8Array,
  info: string | Uint8Array,
  length = 32,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", bytesOf(ikm), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: bytesOf(salt), info: bytesOf(info) },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}
