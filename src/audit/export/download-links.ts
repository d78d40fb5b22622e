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

/** A link is good until `expires` (unix seconds) and only with the signature made for it. */
export async function linkIsValid(secretKey: string, id: string, expires: number, sig: string, nowSeconds: number) {
  if (!Number.isSafeInteger(expires) || expires < nowSeconds) return false;
  return timingSafeEqualStrings(await linkSignature(secretKey, id, expires), sig);
}

// Any malformed link is simply not a valid one: 403 below, like an altered one.
export const LinkQuery = z.object({ expires: z.string().optional(), sig: z.string().optional() });
export const LinkParams = z.object({ id: z.uuid().toLowerCase() });

/** A download request's link must carry a valid signature for this id and not have expired: else 403. */
export async function assertLinkValid(secretKey: string, id: string, query: z.infer<typeof LinkQuery>) {
  const expiresAt = /^\d{1,12}$/.test(query.expires ?? "") ? Number(query.expires) : Number.NaN;
  if (!(await linkIsValid(secretKey, id, expiresAt, query.sig ?? "", Math.floor(Date.now() / 1000)))) {
    throw new AppError(403, "link_invalid", "This download link is invalid or has expired");
  }
}

/** The id of a download route served as raw bytes (outside the validated OpenAPI handlers), once its link checks out. */
export async function linkedDownloadId(c: Context<AppEnv>) {
  const params = LinkParams.safeParse(c.req.param());
  if (!params.success) throw invalid([{ field: "id", message: "must be a UUID" }]);
  await assertLinkValid(c.env.SECRET_KEY, params.data.id, LinkQuery.parse(c.req.query()));
  return params.data.id;
}
