import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { sessionCaller } from "../auth/caller";
import { readSession } from "../auth/session";
import { timingSafeEqualStrings } from "../crypto/constant-time";
import { database } from "../db/client";
import { type AppEnv, SAFE_METHODS } from "../http/context";
import { AppError } from "../http/errors";

/**
 * Whether a form post came from one of our own pages. Browsers say where a request comes from in
 * Sec-Fetch-Site; one too old to send it still sends Origin on a POST (our pages' Referrer-Policy
 * is same-origin, under which Origin is the real one, not "null"). A client that is no browser
 * sends neither: it has no cookie another site could ride on.
 */
export function fromOwnPage(c: Context) {
  const site = c.req.header("Sec-Fetch-Site");
  if (site !== undefined) return site === "same-origin";
  const origin = c.req.header("Origin");
  return origin === undefined || origin === new URL(c.req.url).origin;
}

const csrfRefused = (message: string) => new AppError(403, "csrf_failed", message);

/** A form post of a signed-in user: from our own page, with the session's CSRF token (field `_csrf`, or the X-CSRF-Token header). */
export async function assertFormFromOwnPage(c: Context, csrfToken: string) {
  if (!fromOwnPage(c)) throw csrfRefused("Cross-site form posts are refused");
  const form = await c.req.parseBody();
  const sent = typeof form._csrf === "string" ? form._csrf : (c.req.header("X-CSRF-Token") ?? "");
  if (!timingSafeEqualStrings(sent, csrfToken)) throw csrfRefused("Missing or invalid CSRF token; reload the page and try again");
}

/**
 * Sets `caller` from the session cookie for the dashboard's pages. Without a session a page view
 * goes to the sign-in page; a state change is refused. Every form post must come from our own page
 * AND carry the session's CSRF token (field `_csrf`): SameSite=Lax alone lets a same-site
 * sibling post, and a token proves the poster read one of our pages.
 */
export const dashboardSession = () =>
  createMiddleware<AppEnv>(async function dashboardSession(c, next) {
    // Credentials are checked on the primary: a replica may not have seen a sign-out yet.
    const found = await readSession(c, database(c.env.DB), c.env.SECRET_KEY);
    const safe = SAFE_METHODS.has(c.req.method);
    if (!found) {
      if (safe) return c.redirect("/login", 303);
      throw new AppError(401, "unauthorized", "Your session has ended; sign in again");
    }
    if (!safe) await assertFormFromOwnPage(c, found.session.csrfToken);
    c.set("caller", sessionCaller(found));
    return next();
  });
