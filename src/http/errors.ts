import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "@hono/zod-openapi";

export type FieldError = { field: string; message: string };

/**
 * An error the client may see: status, a stable code and a message written for the client.
 * `internal` is for the log only and never leaves the Worker.
 */
export class AppError extends Error {
  readonly details?: unknown;
  readonly headers: Record<string, string>;
  /** For the log only; never leaves the Worker. */
  readonly internal?: string;

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    options: { details?: unknown; headers?: Record<string, string>; internal?: string } = {},
  ) {
    super(message);
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.internal = options.internal;
  }
}

export const unauthorized = (message = "Authentication required") =>
  new AppError(401, "unauthorized", message, { headers: {
    "WWW-Authenticate": 'Basic realm="chainproof", Bearer realm="chainproof"',
  } });
export const forbidden = (message = "Your role does not allow this") => new AppError(403, "forbidden", message);
export const notFound = (what = "Resource") => new AppError(404, "not_found", `${what} not found`);
export const conflict = (message: string) => new AppError(409, "conflict", message);
export const invalid = (errors: FieldError[]) =>
  new AppError(422, "validation_error", `Invalid ${errors.map((e) => e.field).join(", ")}`, { details: errors });

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export const ErrorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .openapi("Error");

/** Turns zod issues into the 422 body's `details`, one entry per bad field. */
export function fieldErrors(issues: readonly { path: readonly PropertyKey[]; message: string; code?: string; keys?: readonly string[] }[]): FieldError[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys" && issue.keys) {
      return issue.keys.map((key) => ({ field: base ? `${base}.${key}` : key, message: "Unknown field" }));
    }
    return [{ field: base || "body", message: issue.message }];
  });
}
