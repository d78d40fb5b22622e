import { Hono } from "hono";
import type { FC, PropsWithChildren } from "hono/jsx";
import type { AppEnv } from "../http/context";
import { clientInfo } from "../http/context";
import { loginWithPassword } from "../auth/login";
import { loginScope } from "../auth/login-scope";
import { endSession, readSession, startSession } from "../auth/session";
import { timingSafeEqualStrings } from "../crypto/constant-time";
import { AppError } from "../http/errors";

const Page: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title} · chainproof</title>
    </head>
    <body>
      <main>{children}</main>
    </body>
  </html>
);

const LoginForm: FC<{ error?: string }> = ({ error }) => (
  <Page title="Sign in">
    <h1>chainproof</h1>
    {error && <p role="alert">{error}</p>}
    <form method="post" action="/login">
      <label>
        Username <input name="username" autocomplete="username" required />
      </label>
      <label>
        Password <input name="password" type="password" autocomplete="current-password" required />
      </label>
      <button type="submit">Sign in</button>
    </form>
  </Page>
);

/** A form post from another site carries a foreign Origin; browsers always send Origin on POST. */
function sameOrigin(origin: string | undefined, url: string) {
  return origin === undefined || origin === new URL(url).origin;
}

const ui = new Hono<AppEnv>();

ui.get("/login", (c) => c.html(<LoginForm />));

ui.post("/login", async (c) => {
  if (!sameOrigin(c.req.header("Origin"), c.req.url)) return c.html(<LoginForm error="Cross-site sign-in refused" />, 403);
  const form = await c.req.parseBody();
  const username = typeof form.username === "string" ? form.username : "";
  const password = typeof form.password === "string" ? form.password : "";
  const db = c.get("db");
  try {
    const user = await loginWithPassword(loginScope(c), username, password, clientInfo(c));
    await startSession(c, db, c.env.SECRET_KEY, user.id);
    return c.redirect("/", 303);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (err.headers["Retry-After"]) c.header("Retry-After", err.headers["Retry-After"]);
    return c.html(<LoginForm error={err.message} />, err.status === 429 ? 429 : 401);
  }
});

ui.post("/logout", async (c) => {
  const db = c.get("db");
  const found = await readSession(c, db, c.env.SECRET_KEY);
  const form = await c.req.parseBody();
  if (found && !timingSafeEqualStrings(String(form._csrf ?? ""), found.session.csrfToken)) {
    return c.text("Invalid CSRF token", 403);
  }
  await endSession(c, db, c.env.SECRET_KEY);
  return c.redirect("/login", 303);
});

ui.get("/", async (c) => {
  const found = await readSession(c, c.get("db"), c.env.SECRET_KEY);
  if (!found) return c.redirect("/login", 303);
  return c.html(
    <Page title="Home">
      <h1>chainproof</h1>
      <p>
        Signed in as <strong>{found.user.username}</strong> ({found.user.role}).
      </p>
      <p>
        <a href="/docs">API documentation</a>
      </p>
      <form method="post" action="/logout">
        <input type="hidden" name="_csrf" value={found.session.csrfToken} />
        <button type="submit">Sign out</button>
      </form>
    </Page>,
  );
});

export default ui;
