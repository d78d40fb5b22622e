import { canonicalJson } from "./jcs";
import { fromBase64Url, toBase64Url, utf8 } from "./encoding";

export type Ed25519PrivateJwk = { kty: "OKP"; crv: "Ed25519"; d: string; x: string };
export type Ed25519PublicJwk = { kty: "OKP"; crv: "Ed25519"; x: string };

const ED25519 = { name: "Ed25519" } as const;

function bytesOf(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? utf8(data) : data;
}

function is32ByteB64Url(s: unknown): s is string {
  if (typeof s !== "string") return false;
  try {
    return fromBase64Url(s).length === 32;
  } catch {
    return false;
  }
}

/** RFC 7638 thumbprint; for OKP the required members are crv, kty, x. */
export async function jwkThumbprint(jwk: { crv: string; kty: string; x: string }): Promise<string> {
  if (jwk.kty !== "OKP") throw new Error("jwkThumbprint: only OKP keys are supported");
  const json = canonicalJson({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return toBase64Url(await crypto.subtle.digest("SHA-256", utf8(json)));
}

/** Error messages never echo the input: it is a private key. */
export function parsePrivateJwk(text: string): Ed25519PrivateJwk {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error("Ed25519 private key is not valid JSON (expected a JWK)");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error("Ed25519 private key must be a JSON object (JWK)");
  }
  const jwk = parsed as Record<string, unknown>;
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") {
    throw new Error('Ed25519 private key JWK must have kty "OKP" and crv "Ed25519"');
  }
  if (!is32ByteB64Url(jwk.d)) throw new Error('Ed25519 private key JWK needs "d": 32 bytes, base64url');
  if (!is32ByteB64Url(jwk.x)) throw new Error('Ed25519 private key JWK needs "x": 32 bytes, base64url');
  return { kty: "OKP", crv: "Ed25519", d: jwk.d, x: jwk.x };
}

export async function ed25519Signer(jwk: Ed25519PrivateJwk): Promise<{
  kid: string;
  publicJwk: Ed25519PublicJwk & { kid: string; alg: "EdDSA"; use: "sig" };
  sign(data: string | Uint8Array): Promise<string>;
}> {
  const { kty, crv, d, x } = jwk;
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("jwk", { kty, crv, d, x }, ED25519, false, ["sign"]);
  } catch {
    // Node checks x against d here; workerd does not, hence the self-check below.
    throw new Error('Ed25519 private key JWK was rejected by WebCrypto (is "x" the public key of "d"?)');
  }
  const sign = async (data: string | Uint8Array) =>
    toBase64Url(await crypto.subtle.sign(ED25519, key, bytesOf(data)));
  // A JWK whose x does not belong to d would sign things nobody can verify against the JWKS.
  const probe = "chainproof signer self-check";
  if (!(await verifyEd25519({ x }, probe, await sign(probe)))) {
    throw new Error('Ed25519 private key JWK: "x" is not the public key of "d"');
  }
  const kid = await jwkThumbprint({ crv, kty, x });
  return { kid, publicJwk: { kty, crv, x, kid, alg: "EdDSA", use: "sig" }, sign };
}

export async function verifyEd25519(
  publicJwk: { x: string },
  data: string | Uint8Array,
  signatureB64Url: string,
): Promise<boolean> {
  try {
    const pub = fromBase64Url(publicJwk.x);
    const sig = fromBase64Url(signatureB64Url);
    // Reject non-canonical base64url too, so one signature has exactly one string form.
    if (pub.length !== 32 || sig.length !== 64 || toBase64Url(sig) !== signatureB64Url) return false;
    const key = await crypto.subtle.importKey("raw", pub, ED25519, false, ["verify"]);
    return await crypto.subtle.verify(ED25519, key, sig, bytesOf(data));
  } catch {
    return false;
  }
}

export async function generateEd25519PrivateJwk(): Promise<Ed25519PrivateJwk> {
  const pair = (await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  return parsePrivateJwk(JSON.stringify(jwk));
}
