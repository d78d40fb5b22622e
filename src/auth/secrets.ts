import { sha256Hex, toBase64Url } from "../crypto/encoding";

/** A fresh bearer secret: 256 random bits, prefixed so leaked tokens are recognisable in scanners. */
export function newApiToken(): string {
  return `cp_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export function newRandomSecret(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Only this digest of a token or session secret is ever stored. */
export const secretDigest = (secret: string) => sha256Hex(secret);
