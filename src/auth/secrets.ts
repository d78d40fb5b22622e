import { sha256Hex, toBase64Url } from "../crypto/encoding";

/**
 * A fresh bearer secret: 256 random bits, prefixed so leaked tokens are recognisable in scanners.
 * It names its organization, whose chain object can then check it without a D1 read.
 */
export function newApiToken(organizationId: string): string {
  return `cp_${organizationId}_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

const ORG_TOKEN = /^cp_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

/** The organization a token names (tokens issued before they named one answer undefined). */
export const tokenOrganization = (token: string) => ORG_TOKEN.exec(token)?.[1];

export function newRandomSecret(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Only this digest of a token or session secret is ever stored. */
export const secretDigest = (secret: string) => sha256Hex(secret);
