// A wrong method on a path the API serves is a 405 naming the methods it does answer (Allow); a
// path nothing serves stays a 404 (README, "Errors").
import { beforeAll, describe, expect, it } from "vitest";
import { allowedMethods } from "../src/http/allowed-methods";
import { api, createTenant, type Tenant } from "./helpers";

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

describe("405 Method Not Allowed", () => {
  it("names the path's methods in Allow and in the error body", async () => {
    const cases = [
      ["GET", "/api/v1/audit/export", "POST"],
      ["DELETE", "/api/v1/audit/logs", "GET, HEAD, POST"],
      ["PUT", `/api/v1/audit/logs/${crypto.randomUUID()}`, "GET, HEAD"],
      ["PATCH", `/api/v1/organizations/${t.org.id}/services/svc_x`, "GET, HEAD, PUT, DELETE"],
    ] as const;
    for (const [method, path, allow] of cases) {
      const res = await api(path, { method, as: t.admin.as });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("Allow")).toBe(allow);
      expect(res.json).toEqual({ error: { code: "method_not_allowed", message: `${method} is not allowed here; this path answers ${allow}` } });
    }
  });

  it("a path nothing serves is a 404; credentials are still checked first", async () => {
    const missing = await api("/api/v1/audit/nothing-here", { as: t.admin.as });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { code: "not_found", message: "No such route" } });
    expect((await api("/api/v1/audit/export")).status).toBe(401);
  });

  it("matches Hono's patterns segment by segment; middleware serves no method", () => {
    const methodsAt = allowedMethods([
      { method: "ALL", path: "/api/v1/*" },
      { method: "GET", path: "/a/:id" },
      { method: "POST", path: "/a/:id/b" },
      { method: "GET", path: "/files/*" },
    ]);
    expect(methodsAt("/a/1")).toEqual(["GET", "HEAD"]);
    expect(methodsAt("/a/1/b")).toEqual(["POST"]);
    expect(methodsAt("/a/1/b/c")).toEqual([]);
    expect(methodsAt("/files/x/y")).toEqual(["GET", "HEAD"]);
    expect(methodsAt("/api/v1/anything")).toEqual([]);
  });
});
