import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { except } from "hono/combine";
import auditRoutes from "./audit/routes";
import jwksRoutes from "./audit/integrity/jwks-routes";
import meRoutes from "./auth/routes";
import { authenticate } from "./auth/caller";
import { organizationTenancy } from "./auth/tenancy";
import { allowedMethods } from "./http/allowed-methods";
import complianceRoutes from "./compliance/routes";
import { reportPages } from "./compliance/report-routes";
import { type AppEnv, dbMiddleware } from "./http/context";
import { AppError, errorBody } from "./http/errors";
import { requireJsonBody } from "./http/request-guards";
import orgRoutes from "./orgs/routes";
import { attachSecurityLog } from "./security/record";
import securityRoutes from "./security/routes";
import { json, openApiDocument } from "./http/openapi";
import dashboard from "./dashboard";

const OPENAPI_PATH = "/api/v1/openapi.json";
// A signed download link is its own credential: it can be handed to an auditor.
// Appends whose bearer token the organization's chain object checks (src/auth/caller.ts).
const CHAIN_APPEND_PATHS = ["/api/v1/audit/logs", "/api/v1/audit/logs/batch"];
const PUBLIC_API_PATHS = [OPENAPI_PATH, "/api/v1/audit/exports/:id/download", "/api/v1/audit/validation-runs/:id/download", "/api/v1/audit/archives/:id/download"];

export function buildApp() {
  const app = new OpenAPIHono<AppEnv>();
  app.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", { type: "http", scheme: "basic" });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "sessionCookie", { type: "apiKey", in: "cookie", name: "cp_session" });

  // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` on our own form
  // posts, which is indistinguishable from a sandboxed foreign page.
  app.use(secureHeaders({ referrerPolicy: "same-origin" }));
  app.use(dbMiddleware());
  app.use(attachSecurityLog());
  app.use("/api/v1/*", except(PUBLIC_API_PATHS, authenticate({ chainAppendPaths: CHAIN_APPEND_PATHS })));
  app.use("/api/v1/*", requireJsonBody());
  app.use("/api/v1/organizations/:orgId/*", organizationTenancy());

  app.route("/api/v1/organizations", orgRoutes);
  app.route("/api/v1/me", meRoutes);
  app.route("/api/v1/audit", auditRoutes);
  app.route("/api/v1", securityRoutes);
  app.route("/api/v1", complianceRoutes);
  // The same report at its established address, outside /api/v1.
  app.route("/organizations", reportPages);
  app.route("/.well-known", jwksRoutes);

  // In the document like every other route: it takes no input and no credentials, so it has no 4XX.
  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      operationId: "getHealth",
      security: [],
      tags: ["Service"],
      summary: "Liveness: the Worker answers",
      responses: { 200: json(z.object({ ok: z.literal(true) }).openapi("Health"), "The Worker is up") },
    }),
    (c) => c.json({ ok: true as const }, 200),
  );
  app.doc31(OPENAPI_PATH, openApiDocument);
  app.get("/docs", Scalar({ url: OPENAPI_PATH, pageTitle: "chainproof API" }));
  app.route("/", dashboard);

  let methodsAt: ((path: string) => string[]) | undefined;
  app.notFound((c) => {
    // Built on the first miss, once every route is registered.
    methodsAt ??= allowedMethods(app.routes);
    const allowed = methodsAt(c.req.path);
    if (allowed.length === 0) return c.json(errorBody("not_found", "No such route"), 404);
    return c.json(errorBody("method_not_allowed", `${c.req.method} is not allowed here; this path answers ${allowed.join(", ")}`), 405, { Allow: allowed.join(", ") });
  });
  app.onError((err, c) => {
    if (err instanceof AppError) {
      if (err.internal) console.error(`${err.code}: ${err.internal}`);
      return c.json(errorBody(err.code, err.message, err.details), err.status, err.headers);
    }
    if (err instanceof HTTPException) {
      const code = err.status === 413 ? "payload_too_large" : err.status === 400 ? "bad_request" : "http_error";
      return c.json(errorBody(code, err.message || "Request refused"), err.status);
    }
    // Failures are logged by name only: their messages may carry SQL or values.
    // drizzle wraps single queries; D1's own error comes through batch() unwrapped.
    if (err instanceof DrizzleQueryError || err.message.startsWith("D1_ERROR")) {
      console.error(`storage error on ${c.req.method} ${c.req.path}`);
      return c.json(errorBody("storage_unavailable", "Storage is unavailable; retry shortly"), 503, { "Retry-After": "1" });
    }
    console.error(`unhandled ${err.name} on ${c.req.method} ${c.req.path}`);
    return c.json(errorBody("internal_error", "Internal error"), 500);
  });
  return app;
}
