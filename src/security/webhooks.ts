import { fromBase64Url, toBase64Url, utf8 } from "../crypto/encoding";
import { hkdfSha256 } from "../crypto/hkdf";
import { hmacSha256Hex, importHmacKey } from "../crypto/hmac";

export const SIGNATURE_HEADER = "X-Chainproof-Signature";

/** A webhook signing secret: 256 random bits, shown once when the webhook is configured. */
export const newWebhookSecret = () => `whsec_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;

/** AES-256-GCM key for stored webhook secrets: HKDF-SHA256(SECRET_KEY, "chainproof", "webhook-secrets"). */
async function sealingKey(secretKey: string, usage: "encrypt" | "decrypt") {
  const raw = await hkdfSha256(secretKey, "chainproof", "webhook-secrets", 32);
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
}

/**
 * `v1.<iv>.<ciphertext>` (base64url). The organization id is the associated data, so a ciphertext
 * copied into another organization's row does not decrypt.
 */
export async function sealWebhookSecret(secretKey: string, organizationId: string, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8(organizationId) },
    await sealingKey(secretKey, "encrypt"),
    utf8(secret),
  );
  return `v1.${toBase64Url(iv)}.${toBase64Url(ciphertext)}`;
}

/** Throws when the text is not a sealed secret of this organization under this SECRET_KEY. */
export async function openWebhookSecret(secretKey: string, organizationId: string, sealed: string): Promise<string> {
  const [version, iv, ciphertext] = sealed.split(".");
  if (version !== "v1" || !iv || !ciphertext) throw new Error("unknown webhook secret format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: utf8(organizationId) },
    await sealingKey(secretKey, "decrypt"),
    fromBase64Url(ciphertext),
  );
  return new TextDecoder().decode(plain);
}

/** docs/protocol.md §9: `t=<unix seconds>,v1=<hex(HMAC-SHA256(utf8(secret), utf8(t + "." + body)))>`. */
export async function signatureHeader(secret: string, unixSeconds: number, body: string): Promise<string> {
  const mac = await hmacSha256Hex(await importHmacKey(secret), `${unixSeconds}.${body}`);
  return `t=${unixSeconds},v1=${mac}`;
}
