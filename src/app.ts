import { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import integrityRoutes from "./audit/integrity-routes";
import jwksRoutes from "./audit/jwks-routes";
import bulkExportRoutes from "./audit/bulk-export-routes";
import exportRoutes from "./audit/export-routes";
import readRoutes from "./audit/read-routes";
import referenceRoutes from "./audit/reference-routes";
import auditRoutes from "./audit/routes";
import meRoutes from "./auth/routes";
import { type AppEnv, authenticate, dbMiddleware } from "./auth/caller";
import { AppError, errorBody } from "./errors";
import { reportPages, reports, verification } from "./compliance/report-routes";
import serviceRoutes from "./compliance/service-routes";
import zoneRoutes from "./compliance/zone-routes";
import orgRoutes from "./orgs/routes";
import securityRoutes from "./security/routes";
import webhookRoutes from "./security/webhook-routes";
import { openApiDocument } from "./openapi";
import { requireJsonBody } from "./request-guards";
import ui from "./ui/login";

const OPENAPI_PATH = "/api/v1/openapi.json";
// A signed download link is its own credential: it can be handed to an auditor.
const SIGNED_DOWNLOAD = /^\/api\/v1\/audit\/exports\/[^/]+\/download$/;
const isPublic = (path: string) => path === OPENAPI_PATH || SIGNED_DOWNLOAD.test(path);

export function buildApp() {
  const app = new OpenAPIHono<AppEnv>();
  app.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", { type: "http", scheme: "basic" });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "sessionCookie", { type: "apiKey", in: "cookie", name: "cp_session" });

  app.use(secureHeaders());
  app.use(dbMiddleware());
  app.use("/api/v1/*", async (c, next) => (isPublic(c.req.path) ? next() : authenticate()(c, next)));
  app.use("/api/v1/*", requireJsonBody());

  app.route("/api/v1/organizations", orgRoutes);
  app.route("/api/v1/organizations", webhookRoutes);
  app.route("/api/v1/organizations", serviceRoutes);
  app.route("/api/v1/organizations", reports);
  app.route("/organizations", reportPages);
  app.route("/api/v1/compliance", verification);
  app.route("/api/v1/zones", zoneRoutes);
  app.route("/api/v1/me", meRoutes);
  app.route("/api/v1/audit", auditRoutes);
  app.route("/api/v1/audit", integrityRoutes);
  app.route("/api/v1/audit", securityRoutes);
  app.route("/api/v1/audit", readRoutes);
  app.route("/api/v1/audit", referenceRoutes);
  app.route("/api/v1/audit", exportRoutes);
  app.route("/api/v1/audit", bulkExportRoutes);
  app.route("/.well-known", jwksRoutes);

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.doc31(OPENAPI_PATH, openApiDocument);
  app.get("/docs", Scalar({ url: OPENAPI_PATH, pageTitle: "chainproof API" }));
  app.route("/", ui);

  app.notFound((c) => c.json(errorBody("not_found", "No such route"), 404));
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
