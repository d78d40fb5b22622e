import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { loginWithPassword } from "../auth/login";
import { loginScope } from "../auth/login-scope";
import { endSession, readSession, startSession } from "../auth/session";
import { type AppEnv, clientInfo } from "../http/context";
import { AppError } from "../http/errors";
import { assertFormFromOwnPage, fromOwnPage } from "./session";

const LoginForm: FC<{ error?: string }> = ({ error }) => (
  <>
    <h1>chainproof</h1>
    {error && <p class="error" role="alert">{error}</p>}
    <form method="post" action="/login">
      <p><label>Username <input name="username" autocomplete="username" required /></label></p>
      <p><label>Password <input name="password" type="password" autocomplete="current-password" required /></label></p>
      <button type="submit">Sign in</button>
    </form>
  </>
);

export const loginPage = (c: Context<AppEnv>) => c.render(<LoginForm />, { title: "Sign in" });

/**
 * A sign-in must come from our own page (no session exists yet, so there is no token to check):
 * Sec-Fetch-Site, or Origin for a browser too old to send it (see fromOwnPage).
 */
export async function signIn(c: Context<AppEnv>) {
  if (!fromOwnPage(c)) {
    c.status(403);
    return c.render(<LoginForm error="Cross-site sign-in refused" />, { title: "Sign in" });
  }
  const form = await c.req.parseBody();
  const username = typeof form.username === "string" ? form.username : "";
  const password = typeof form.password === "string" ? form.password : "";
  try {
    const user = await loginWithPassword(loginScope(c), username, password, clientInfo(c));
    await startSession(c, c.get("db"), c.env.SECRET_KEY, user.id);
    // A sign-in is chainproof's own login_success (the security summary counts them). Basic
    // credentials sent with each API request are not sign-ins: an event each would be noise.
    await c.get("securityLog").record({
      organizationId: user.organizationId,
      userId: user.id,
      eventType: "login_success",
      riskScore: 0,
      severity: "info",
      description: `${user.username} signed in to the dashboard`,
      metadata: { username: user.username, via: "dashboard" },
      ...clientInfo(c),
    });
    return c.redirect("/", 303);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (err.headers["Retry-After"]) c.header("Retry-After", err.headers["Retry-After"]);
    c.status(err.status === 429 ? 429 : 401);
    return c.render(<LoginForm error={err.message} />, { title: "Sign in" });
  }
}

/** Signing out is a form post like any other (own page, CSRF token); without a session there is nothing to end. */
export async function signOut(c: Context<AppEnv>) {
  const found = await readSession(c, c.get("db"), c.env.SECRET_KEY);
  if (!found) return c.redirect("/login", 303);
  await assertFormFromOwnPage(c, found.session.csrfToken);
  await endSession(c, c.get("db"), c.env.SECRET_KEY);
  return c.redirect("/login", 303);
}
