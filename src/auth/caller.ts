import type { Context, Next } from "hono";
import { createMiddleware } from "hono/factory";
import { chainOf } from "../audit/chain/append";
import { timingSafeEqualStrings } from "../crypto/constant-time";
import { database, type Database } from "../db/client";
import { type AppEnv, type Caller, clientInfo, SAFE_METHODS } from "../http/context";
import { type Role, TOKEN_ROLES } from "../db/schema";
import { AppError, forbidden, unauthorized } from "../http/errors";
import { isoNow } from "../time";
import { loginWithPassword } from "./login";
import { loginScope } from "./login-scope";
import { LAST_USED_RESOLUTION_MS } from "./org-tokens";
import { secretDigest, tokenOrganization } from "./secrets";
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

/**
 * A token that names its organization, sent to a chain-append route, is checked by that
 * organization's chain object in the same call as the append (no D1 read, no second hop). Until
 * then the route may only do pure work: every token role may append, none is a super_admin, and
 * the caller's ids are not used. An answer other than the append's own success is a 401 unless the
 * chain object confirms the token, so nothing about a request is answered to a bad token.
 */
async function checkedByTheChain(c: Context<AppEnv>, next: Next, organizationId: string, token: string) {
  const tokenHash = await secretDigest(token);
  const unchecked = { organizationId, tokenHash };
  c.set("uncheckedBearer", unchecked);
  c.set("caller", {
    role: "ingest",
    organizationId,
    actorId: "",
    username: null,
    tokenId: null,
    via: "bearer",
    csrfToken: null,
    sessionIdHash: null,
  });
  await next();
  // The route clears it once the chain object accepted the token; 401 is already the answer to refuse.
  if (c.get("uncheckedBearer") !== unchecked || c.res.status === 401) return;
  if (!(await chainOf(c.env, organizationId).tokenIsLive(organizationId, tokenHash, TOKEN_ROLES))) throw unauthorized("Invalid or revoked token");
}

/**
 * Sets `caller` from Bearer, Basic or the session cookie; anything else is a 401. On
 * `chainAppendPaths` (POST), tokens that name their organization are checked by the append itself.
 */
export const authenticate = (options: { chainAppendPaths?: readonly string[] } = {}) =>
  createMiddleware<AppEnv>(async function authenticate(c, next) {
    // Credentials are checked on the primary: a replica may not have seen a revocation yet.
    const db = database(c.env.DB);
    const header = c.req.header("Authorization");
    if (header) {
      const [scheme, value = ""] = header.split(" ", 2);
      const organizationId = tokenOrganization(value.trim());
      if (scheme?.toLowerCase() === "bearer" && organizationId && c.req.method === "POST" && options.chainAppendPaths?.includes(c.req.path)) {
        return checkedByTheChain(c, next, organizationId, value.trim());
      }
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
    c.set("caller", sessionCaller(found));
    return next();
  });

/** Deny by default: only the listed roles pass. */
export const requireRole = (...roles: Role[]) =>
  createMiddleware<AppEnv>(async function requireRole(c, next) {
    if (!roles.includes(c.get("caller").role)) throw forbidden();
    return next();
  });

/** The caller a signed-in session stands for: the API's cookie path and the dashboard's pages alike. */
export function sessionCaller(found: NonNullable<Awaited<ReturnType<typeof readSession>>>): Caller {
  return {
    role: found.user.role,
    organizationId: found.user.organizationId,
    actorId: found.user.id,
    username: found.user.username,
    tokenId: null,
    via: "session",
    csrfToken: found.session.csrfToken,
    sessionIdHash: found.session.idHash,
  };
}
