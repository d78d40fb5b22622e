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
  413: "Request body too large",
  422: "Invalid input; `details` names each bad field",
  429: "Over a limit (`rate_limited`, `too_many_exports`); `Retry-After` gives the seconds to wait",
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
