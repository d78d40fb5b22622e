import { hkdfSha256 } from "../crypto/hkdf";
import { hmacSha256, importHmacKey } from "../crypto/hmac";
import { AppError } from "../http/errors";

/** README.md, "Request limits": 10 failures for a username within 15 minutes lock it for 15 minutes. */
export const LOCKOUT_FAILURES = 10;
export const LOCKOUT_WINDOW_MS = 15 * 60 * 1000;
export const LOCKOUT_DURATION_MS = 15 * 60 * 1000;

/** Failed logins one client IP may make per clock-aligned 15-minute window, over all usernames. */
export const IP_FAILURE_LIMIT = 50;
export const IP_WINDOW_MS = 15 * 60 * 1000;

/**
 * Unknown usernames share this many lockout rows. A keyed hash picks the row, so nobody outside
 * can aim two names at one row; with this many rows two guessed names rarely share one.
 */
export const UNKNOWN_USERNAME_BUCKETS = 65_536;

/** The start of the clock-aligned per-IP window that `now` falls in. */
export const ipWindowStart = (now: number) => now - (now % IP_WINDOW_MS);

export const retryAfterSeconds = (until: number, now: number) => Math.max(1, Math.ceil((until - now) / 1000));

const bucketKeys = new Map<string, Promise<CryptoKey>>();
const bucketKey = (secretKey: string) => {
  let key = bucketKeys.get(secretKey);
  if (!key) {
    key = hkdfSha256(secretKey, "chainproof", "unknown-username-buckets").then((raw) => importHmacKey(raw));
    bucketKeys.set(secretKey, key);
  }
  return key;
};

/**
 * The lockout row of a username that no user has: `unknown:<n>`. Real usernames never contain
 * `:` (orgs/schemas.ts), so a bucket cannot collide with an account's own row.
 */
export async function unknownUsernameSubject(secretKey: string, username: string) {
  const tag = await hmacSha256(await bucketKey(secretKey), username);
  const n = new DataView(tag.buffer, tag.byteOffset, 4).getUint32(0) % UNKNOWN_USERNAME_BUCKETS;
  return `unknown:${n}`;
}

/** Retry-After in words, for the people who read the message (the dashboard's sign-in page shows it). */
export function retryAfterText(seconds: number) {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return `try again in ${minutes} minute${minutes === 1 ? "" : "s"}`;
}

export function accountLocked(retryAfter: number) {
  return new AppError(401, "account_locked", `Too many failed logins; ${retryAfterText(retryAfter)}`, { headers: {
    "Retry-After": String(retryAfter),
    "WWW-Authenticate": 'Basic realm="chainproof"',
  } });
}

export function tooManyAttempts(retryAfter: number) {
  return new AppError(429, "too_many_attempts", `Too many failed logins from this address; ${retryAfterText(retryAfter)}`, { headers: {
    "Retry-After": String(retryAfter),
  } });
}
