import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./context";
import { ErrorSchema, fieldErrors, invalid } from "./errors";

/** A domain router whose validation failures all become the one 422 shape naming each field. */
export const newRouter = () =>
  new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw invalid(fieldErrors(result.error.issues));
    },
  });

const errorDescriptions = {
  400: "Malformed request",
  401: "Missing or invalid credentials",
  403: "Authenticated, but the role does not allow this",
  404: "Not found in the caller's tenant",
  409: "Conflicts with the current state",
  410: "Gone: the file's life is over and it was deleted",
  413: "Request body too large",
  415: "The body is not sent as `Content-Type: application/json`",
  422: "Invalid input; `details` names each bad field",
  429: "Over a limit (`rate_limited`, `too_many_exports`); `Retry-After` gives the seconds to wait",
  503: "Not available now, with `Retry-After` where a retry helps: `append_interrupted` (retry with the same `Idempotency-Key`), `append_failed`, `tree_building`, `not_configured`",
} as const;

/** OpenAPI response entries for the listed error statuses, all with the shared error body. */
export function errorResponses<S extends keyof typeof errorDescriptions>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: errorDescriptions[s], content: { "application/json": { schema: ErrorSchema } } }]),
  ) as unknown as { [K in S]: { description: string; content: { "application/json": { schema: typeof ErrorSchema } } } };
}

export const authenticated: Record<string, string[]>[] = [{ basicAuth: [] }, { bearerAuth: [] }, { sessionCookie: [] }];

export const json = <T>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
export const jsonBody = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

// package.json is private and names no license: the API and its code are not openly licensed. The
// SPDX `identifier` is OpenAPI 3.1's; the generator's config type still describes 3.0's license object.
const license = { name: "Proprietary", identifier: "LicenseRef-Proprietary" };

/**
 * The document-level part of the OpenAPI document (the routes add the rest); exported so that
 * test/node/openapi-lint.test.ts lints the very document /api/v1/openapi.json serves.
 */
export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "chainproof",
    version: "1.0.0",
    description: "Tamper-evident audit logs and signed compliance reports.",
    license,
  },
  // Relative: each deployment serves its API under its own origin.
  servers: [{ url: "/", description: "This deployment" }],
} satisfies Parameters<OpenAPIHono["getOpenAPI31Document"]>[0];
