import { createMiddleware } from "hono/factory";
import { timingSafeEqualStrings } from "../crypto/constant-time";
import { database, type Database } from "../db/client";
import { type AppEnv, type Caller, clientInfo, SAFE_METHODS } from "../http/context";
import type { Role } from "../db/schema";
import { AppError, forbidden, unauthorized } from "../http/errors";
import { isoNow } from "../time";
import { loginWithPassword } from "./login";
import { loginScope } from "./login-scope";
import { secretDigest } from "./secrets";
import { readSession } from "./session";
import { findLiveTokenByHash, touchToken } from "./store";

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
        const user = await loginWithPassword(loginScope(c), username, password, clientInfo(c));
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
