import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { database, type Database } from "../db/client";
import type { organizations, Role } from "../db/schema";
import type { Env } from "../env";

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

/** A bearer token the org's chain object checks within the append itself (see authenticate()). */
export type UncheckedBearer = { organizationId: string; tokenHash: string };

export type AppVariables = {
  caller: Caller;
  db: Database;
  uncheckedBearer?: UncheckedBearer | undefined;
  /** The organization of `/api/v1/organizations/{orgId}/…`, read once by the tenancy check (organizationTenancy). */
  pathOrganization?: typeof organizations.$inferSelect | undefined;
};
export type AppEnv = { Bindings: Env; Variables: AppVariables };

export type ClientInfo = { ipAddress: string | null; userAgent: string | null };

export const clientInfo = (c: Context): ClientInfo => ({
  ipAddress: c.req.header("CF-Connecting-IP") ?? null,
  userAgent: c.req.header("User-Agent") ?? null,
});

export const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

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
