import { utf8 } from "./encoding";

type MaybeTimingSafeEqual = { timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean };

export function timingSafeEqualBytes(a: Uint8Array, b: Uint8Array): boolean {
  const subtle = crypto.subtle as MaybeTimingSafeEqual;
  if (typeof subtle.timingSafeEqual === "function") {
    // workerd's version throws on unequal lengths; still do a comparison so a
    // mismatch costs about as long as a match.
    if (a.byteLength !== b.byteLength) {
      subtle.timingSafeEqual(b, b);
      return false;
    }
    return subtle.timingSafeEqual(a, b);
  }
  // Node's WebCrypto has no timingSafeEqual (the offline CLI runs there).
  let diff = a.byteLength ^ b.byteLength;
  for (let i = 0; i < b.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function timingSafeEqualStrings(a: string, b: string): boolean {
  return timingSafeEqualBytes(utf8(a), utf8(b));
}
