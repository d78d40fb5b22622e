import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../http/context";
import { AppError, type FieldError } from "../http/errors";
import { FieldErrors } from "./components";

const TITLES: Record<number, string> = { 401: "Sign in again", 403: "Not allowed", 404: "Not found", 422: "Invalid input", 429: "Slow down" };

/** Errors on a page are pages too, with the status the API would answer; internals stay in the log. */
export const renderError: ErrorHandler<AppEnv> = (err, c: Context<AppEnv>) => {
  let status = 500;
  let message = "Something went wrong on our side. Try again shortly.";
  let details: FieldError[] = [];
  if (err instanceof AppError) {
    status = err.status;
    message = err.message;
    if (Array.isArray(err.details)) details = err.details as FieldError[];
    for (const [name, value] of Object.entries(err.headers)) if (name !== "WWW-Authenticate") c.header(name, value);
    if (err.internal) console.error(`${err.code}: ${err.internal}`);
  } else if (err instanceof HTTPException) {
    status = err.status;
    message = err.message || "Request refused";
  } else {
    console.error(`unhandled ${err.name} on dashboard ${c.req.method} ${c.req.path}`);
  }
  c.status(status as 500);
  const title = TITLES[status] ?? "Error";
  const caller = c.get("caller") as AppEnv["Variables"]["caller"] | undefined;
  return c.render(
    <>
      <h1>{title}</h1>
      <p class="error" role="alert">{message}</p>
      <FieldErrors errors={details} />
      <p>{status === 401 ? <a href="/login">Sign in</a> : <a href="/">Back to the start</a>}</p>
    </>,
    { title, caller },
  );
};
