import { timingSafeEqualStrings } from "../../crypto/constant-time";
import { toBase64Url } from "../../crypto/encoding";
import { hmacSha256 } from "../../crypto/hmac";
import { downloadLinkKey } from "../../crypto/keys";

export const DEFAULT_LINK_SECONDS = 24 * 60 * 60;
export const MAX_LINK_SECONDS = 7 * 24 * 60 * 60;

/** docs/protocol.md §8: base64url(HMAC-SHA256(K_links, utf8(id + "." + expires))). */
export async function linkSignature(secretKey: string, id: string, expires: number) {
  return toBase64Url(await hmacSha256(await downloadLinkKey(secretKey), `${id}.${expires}`));
}

export async function signedDownloadPath(secretKey: string, basePath: string, id: string, expires: number) {
  const sig = await linkSignature(secretKey, id, expires);
  return `${basePath}/${id}/download?expires=${expires}&sig=${sig}`;
}

/** A link is good until `expires` (unix seconds) and only with the signature made for it. */
export async function linkIsValid(secretKey: string, id: string, expires: number, sig: string, nowSeconds: number) {
  if (!Number.isSafeInteger(expires) || expires < nowSeconds) return false;
  return timingSafeEqualStrings(await linkSignature(secretKey, id, expires), sig);
}
