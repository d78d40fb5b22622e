import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { timingSafeEqualStrings } from "../crypto/constant-time";
import { database, type Database } from "../db/client";
import type { Role } from "../db/schema";
import type { Env } from "../env";
import { AppError, forbidden, unauthorized } from "../http/errors";
import { securityScope } from "../security/record";
import { isoNow } from "../time";
import { type ClientInfo, loginWithPassword } from "./login";
import { secretDigest } from "./secrets";
import { readSession } from "./session";
import { findLiveTokenByHash, touchToken } from "./store";

/** Who is calling: a user (Basic or session cookie) or an API token (Bearer). */
export type Caller = {
  role: Role;
  organizationId: string | null;
  /** The user id, or the token id for API tokens: what self-audit records name as actor. */
  actorId: string;
  username: string | null;
  tokenId: string | null;
  via: "basic" | "bearer" | "session";
  /** Session callers must echo this in X-CSRF-Token on state-changing requests. */
  csrfToken: string | null;
  /** The stored digest of the session the request came with (cookie callers only). */
  sessionIdHash: string | null;
};

export type AppVariables = { caller: Caller; db: Database };
export type AppEnv = { Bindings: Env; Variables: AppVariables };

export const clientInfo = (c: Context): ClientInfo => ({
  ipAddress: c.req.header("CF-Connecting-IP") ?? null,
  userAgent: c.req.header("User-Agent") ?? null,
});

function decodeBasic(encoded: string) {
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0)));
  } catch {
    throw unauthorized("Malformed Basic credentials");
  }
  const colon = decoded.indexOf(":");
  if (colon < 1) throw unauthorized("Malformed Basic credentials");
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function bearerCaller(db: Database, token: string): Promise<Caller> {
  const tokenHash = await secretDigest(token);
  const row = await findLiveTokenByHash(db, tokenHash);
  // The lookup is by digest; the compare below keeps the final decision constant-time as well.
  if (!row || !timingSafeEqualStrings(row.tokenHash, tokenHash)) throw unauthorized("Invalid or revoked token");
  // last_used_at is kept to the minute: a write per request would double an ingest token's D1 work.
  const now = Date.now();
  if (!row.lastUsedAt || now - Date.parse(row.lastUsedAt) >= LAST_USED_RESOLUTION_MS) await touchToken(db, row.id, isoNow(now));
  return {
    role: row.role,
    organizationId: row.organizationId,
    actorId: row.id,
    username: null,
    tokenId: row.id,
    via: "bearer",
    csrfToken: null,
    sessionIdHash: null,
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const LAST_USED_RESOLUTION_MS = 60 * 1000;

/** Sets `caller` from Bearer, Basic or the session cookie; anything else is a 401. */
export const authenticate = () =>
  createMiddleware<AppEnv>(async function authenticate(c, next) {
    // Credentials are checked on the primary: a replica may not have seen a revocation yet.
    const db = database(c.env.DB);
    const header = c.req.header("Authorization");
    if (header) {
      const [scheme, value = ""] = header.split(" ", 2);
      if (scheme?.toLowerCase() === "bearer" && value) {
        c.set("caller", await bearerCaller(db, value.trim()));
      } else if (scheme?.toLowerCase() === "basic" && value) {
        const { username, password } = decodeBasic(value.trim());
        const user = await loginWithPassword(securityScope(c), username, password, clientInfo(c));
        c.set("caller", {
          role: user.role,
          organizationId: user.organizationId,
          actorId: user.id,
          username: user.username,
          tokenId: null,
          via: "basic",
          csrfToken: null,
          sessionIdHash: null,
        });
      } else {
        throw unauthorized("Unsupported Authorization scheme");
      }
      return next();
    }
    const found = await readSession(c, db, c.env.SECRET_KEY);
    if (!found) throw unauthorized();
    // Lax cookies still ride along on cross-site top-level navigations, and some GETs have effects
    // (a validation run, a report generated): the browser says where the request came from.
    if (c.req.header("Sec-Fetch-Site") === "cross-site") {
      throw new AppError(403, "csrf_failed", "Cross-site requests with the session cookie are refused");
    }
    // A state change must also prove it read the page.
    if (!SAFE_METHODS.has(c.req.method)) {
      const sent = c.req.header("X-CSRF-Token") ?? "";
      if (!timingSafeEqualStrings(sent, found.session.csrfToken)) {
        throw new AppError(403, "csrf_failed", "Missing or invalid X-CSRF-Token");
      }
    }
    c.set("caller", {
      role: found.user.role,
      organizationId: found.user.organizationId,
      actorId: found.user.id,
      username: found.user.username,
      tokenId: null,
      via: "session",
      csrfToken: found.session.csrfToken,
      sessionIdHash: found.session.idHash,
    });
    return next();
  });

/** Deny by default: only the listed roles pass. */
export const requireRole = (...roles: Role[]) =>
  createMiddleware<AppEnv>(async function requireRole(c, next) {
    if (!roles.includes(c.get("caller").role)) throw forbidden();
    return next();
  });

/** Clients pass back the bookmark of their last write to read it from any replica. */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/**
 * Every request uses a D1 session: reads may go to a replica, writes to the primary, and a client
 * that sends the bookmark of its last write reads that write. The answer carries the new bookmark.
 */
export const dbMiddleware = () =>
  createMiddleware<AppEnv>(async function attachDatabase(c, next) {
    const bookmark = c.req.header(BOOKMARK_HEADER);
    const session = c.env.DB.withSession(bookmark || (SAFE_METHODS.has(c.req.method) ? "first-unconstrained" : "first-primary"));
    // drizzle's D1 driver only calls prepare() and batch(), which a session has.
    c.set("db", database(session as unknown as D1Database));
    await next();
    const latest = session.getBookmark();
    if (latest && !c.res.headers.has(BOOKMARK_HEADER)) c.res.headers.set(BOOKMARK_HEADER, latest);
  });
