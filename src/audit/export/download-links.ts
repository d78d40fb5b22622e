import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { timingSafeEqualStrings } from "../../crypto/constant-time";
import type { AppEnv } from "../../http/context";
import { AppError, invalid } from "../../http/errors";
import { toBase64Url } from "../../crypto/encoding";
import { hmacSha256 } from "../../crypto/hmac";
import { downloadLinkKey } from "../../crypto/keys";

export const DEFAULT_LINK_SECONDS = 24 * 60 * 60;
export const MAX_LINK_SECONDS = 7 * 24 * 60 * 60;

/** docs/protocol.md §12: base64url(HMAC-SHA256(K_links, utf8(id + "." + expires))). */
export async function linkSignature(secretKey: string, id: string, expires: number) {
  return toBase64Url(await hmacSha256(await downloadLinkKey(secretKey), `${id}.${expires}`));
}

export async function signedDownloadPath(secretKey: string, basePath: string, id: string, expires: number) {
  const sig = await linkSignature(secretKey, id, expires);
  return `${basePath}/${id}/download?expires=${expires}&sig=${sig}`;
}

/**
 * A link is good until `expires` (unix seconds) and only with the signature made for it. A link
 * lives at most MAX_LINK_SECONDS: one expiring later was never issued, whoever signed it.
 */
export async function linkIsValid(secretKey: string, id: string, expires: number, sig: string, nowSeconds: number) {
  if (!Number.isSafeInteger(expires) || expires < nowSeconds || expires > nowSeconds + MAX_LINK_SECONDS) return false;
  return timingSafeEqualStrings(await linkSignature(secretKey, id, expires), sig);
}

// Any malformed link is simply not a valid one: 403 below, like an altered one. So a repeated
// parameter (a list) passes the schema too, and is refused with the rest.
const linkParameter = z.union([z.string(), z.array(z.string())]).optional();
export const LinkQuery = z.object({ expires: linkParameter, sig: linkParameter });
export const LinkParams = z.object({ id: z.uuid().toLowerCase() });

/** A link parameter's one value; a repeated parameter has none, as no link this API hands out repeats one. */
const soleValue = (value: string | string[] | undefined) => (Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value);

/** A download request's link must carry a valid signature for this id and not have expired: else 403. */
export async function assertLinkValid(secretKey: string, id: string, query: z.infer<typeof LinkQuery>) {
  const expires = soleValue(query.expires) ?? "";
  // The signature covers `expires` as the link wrote it: only the plain decimal this API issues reads
  // back to the same text. "0" + expires would be another text with the same number, an altered link.
  const expiresAt = /^[1-9]\d{0,11}$/.test(expires) ? Number(expires) : Number.NaN;
  if (!(await linkIsValid(secretKey, id, expiresAt, soleValue(query.sig) ?? "", Math.floor(Date.now() / 1000)))) {
    throw new AppError(403, "link_invalid", "This download link is invalid or has expired");
  }
}

/** The id of a download route served as raw bytes (outside the validated OpenAPI handlers), once its link checks out. */
export async function linkedDownloadId(c: Context<AppEnv>) {
  const params = LinkParams.safeParse(c.req.param());
  if (!params.success) throw invalid([{ field: "id", message: "must be a UUID" }]);
  // Every value of each parameter, as the validated routes see them: a repeated one is refused, not read by its first.
  await assertLinkValid(c.env.SECRET_KEY, params.data.id, { expires: c.req.queries("expires"), sig: c.req.queries("sig") });
  return params.data.id;
}
