import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { hkdfSha256 } from "../crypto/hkdf";
import { toHex } from "../crypto/encoding";
import type { Database } from "../db/client";
import { isoNow } from "../time";
import { newRandomSecret, secretDigest } from "./secrets";
import { deleteSession, findLiveSession, insertSession } from "./store";

export const SESSION_COOKIE = "cp_session";
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const cookieKey = async (secretKey: string) => toHex(await hkdfSha256(secretKey, "chainproof", "session-cookies"));

/** Starts a session: a random secret in a signed, HttpOnly, Secure, SameSite=Lax cookie; D1 keeps its digest. */
export async function startSession(c: Context, db: Database, secretKey: string, userId: string) {
  const secret = newRandomSecret();
  const now = Date.now();
  const csrfToken = newRandomSecret();
  await insertSession(db, {
    idHash: await secretDigest(secret),
    userId,
    csrfToken,
    createdAt: isoNow(now),
    expiresAt: isoNow(now + SESSION_TTL_MS),
  });
  await setSignedCookie(c, SESSION_COOKIE, secret, await cookieKey(secretKey), {
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    path: "/",
    maxAge: SESSION_TTL_MS / 1000,
  });
  return csrfToken;
}

export async function readSession(c: Context, db: Database, secretKey: string) {
  const secret = await getSignedCookie(c, await cookieKey(secretKey), SESSION_COOKIE);
  if (!secret) return undefined;
  return findLiveSession(db, await secretDigest(secret), isoNow());
}

export async function endSession(c: Context, db: Database, secretKey: string) {
  const secret = await getSignedCookie(c, await cookieKey(secretKey), SESSION_COOKIE);
  if (secret) await deleteSession(db, await secretDigest(secret));
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
}
