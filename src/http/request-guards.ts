import { createMiddleware } from "hono/factory";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./context";
import { AppError, invalid } from "./errors";
import { rawBodyProblem } from "./json-input";

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** A request that carries a body must say it is JSON; anything else is refused before parsing. */
export const requireJsonBody = () =>
  createMiddleware<AppEnv>(async function requireJsonBody(c, next) {
    const hasBody = c.req.header("Content-Length") !== "0" && c.req.raw.body !== null;
    if (BODY_METHODS.has(c.req.method) && hasBody) {
      const type = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== "application/json") {
        throw new AppError(415, "unsupported_media_type", "Send the body as application/json");
      }
    }
    return next();
  });

/**
 * Refuses bodies over `maxBytes` with 413, counting streamed bytes too, and with 422 bodies nested
 * too deeply to parse safely or holding a repeated or `__proto__` member name, all before anything
 * is parsed. A `signedFile` (a report to verify) is judged by its route on its exact bytes, repeated
 * names included: it is read as bytes and only its nesting is checked here.
 */
export const limitBody = (maxBytes: number, { signedFile = false } = {}) => {
  const sizeLimit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new AppError(413, "payload_too_large", `Request body exceeds ${maxBytes} bytes`);
    },
  });
  return createMiddleware<AppEnv>(async function limitBody(c, next) {
    if (!BODY_METHODS.has(c.req.method) || c.req.raw.body === null) return next();
    return sizeLimit(c, async () => {
      // Hono keeps the text, so the route's own parse reads it from here.
      const text = signedFile ? new TextDecoder().decode(await c.req.arrayBuffer()) : await c.req.text();
      const problem = rawBodyProblem(text, !signedFile);
      if (problem !== undefined) throw invalid([problem]);
      await next();
    });
  });
};
