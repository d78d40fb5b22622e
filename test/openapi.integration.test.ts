import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app";
import { openApiDocument } from "../src/http/openapi";
import { api } from "./helpers";

const UNDOCUMENTED = new Set(["/api/v1/openapi.json"]);
// Everything else the app serves is the dashboard and /docs: pages, not API.
const isApiPath = (path: string) =>
  path.startsWith("/api/v1/") || path === "/healthz" || path.startsWith("/.well-known/") || path.startsWith("/organizations/");

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1, public, and documents every API route the app serves (/api/v1, /healthz, the JWKS, the report's old address)", async () => {
    const res = await api("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe("3.1.0");
    const documented = new Set(
      Object.entries(res.json.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const served = buildApp()
      .routes.filter((r) => r.method !== "ALL" && isApiPath(r.path) && !UNDOCUMENTED.has(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}").replace(/\/$/, "")}`);
    expect(served.length).toBeGreaterThan(10);
    expect(served).toContain("GET /healthz");
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  /** The operations that take a request body but do not document `status`. */
  async function bodyOperationsWithout(status: string) {
    const res = await api("/api/v1/openapi.json");
    return Object.entries(res.json.paths as Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>)
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })))
      .filter(({ op }) => op.requestBody !== undefined && !(status in op.responses))
      .map(({ route }) => route);
  }

  // Every /api/v1 body is size-limited (README, "Request limits"): a client generated from the
  // document must know that a 413 can come back from each operation that takes one.
  it("documents 413 on every operation that takes a request body", async () => {
    expect(await bodyOperationsWithout("413")).toEqual([]);
  });

  // Every /api/v1 body must be sent as application/json (README, "Errors": 415 unsupported_media_type).
  it("documents 415 on every operation that takes a request body", async () => {
    expect(await bodyOperationsWithout("415")).toEqual([]);
  });

  // README, "Errors": an append may answer 503 `append_interrupted` (retry with the same key) or
  // `append_failed`, and POST /checkpoints 503 `not_configured` without a signing key.
  it("documents 503 on the appends, the legacy import and POST /checkpoints", async () => {
    const res = await api("/api/v1/openapi.json");
    const paths = res.json.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    for (const path of ["/api/v1/audit/logs", "/api/v1/audit/logs/batch", "/api/v1/audit/import", "/api/v1/audit/checkpoints"]) {
      expect(Object.keys(paths[path]!.post!.responses), path).toContain("503");
    }
  });

  // README, "Exports": generated clients see the capped export's answer and its headers.
  it("documents the capped export's JSON answer, the Idempotency-Key of security events and their headers", async () => {
    const doc = (await api("/api/v1/openapi.json")).json;
    const ok = doc.paths["/api/v1/audit/export"].post.responses["200"];
    expect(Object.keys(ok.headers).sort()).toEqual(["Content-Disposition", "X-Ignored-Fields", "X-Result-Limit", "X-Result-Total", "X-Result-Truncated"]);
    const answer = doc.components.schemas[ok.content["application/json"].schema.$ref.split("/").pop()];
    expect(Object.keys(answer.properties)).toEqual(["truncated", "total", "limit", "returned", "items"]);
    const params = doc.paths["/api/v1/audit/security-events"].post.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    expect(params).toContain("header:idempotency-key");
  });

  // test/node/openapi-lint.test.ts lints the document built this way on Node: it must be the served one.
  it("serves exactly the document built from the app and its document config", async () => {
    const res = await api("/api/v1/openapi.json");
    expect(res.json).toEqual(JSON.parse(JSON.stringify(buildApp().getOpenAPI31Document(openApiDocument))));
  });

  it("answers /healthz without credentials", async () => {
    const res = await api("/healthz");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ok: true });
  });

  it("serves browsable docs at /docs", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.text).toContain("/api/v1/openapi.json");
  });
});
