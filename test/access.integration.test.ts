import { beforeAll, describe, expect, it } from "vitest";
import { api, basic, createTenant, createToken, createUser, type Credentials, db, getSuperAdmin, type Tenant, unique } from "./helpers";
import { revokeToken } from "../src/orgs/store";
import { isoNow } from "../src/time";

type Who = "super_admin" | "org_admin" | "member" | "ingest" | "admin_token" | "none" | "bad_password" | "revoked_token";
const WHO: Who[] = ["super_admin", "org_admin", "member", "ingest", "admin_token", "none", "bad_password", "revoked_token"];

type Call = { method: string; path: (orgId: string) => Promise<string> | string; body?: () => unknown };

let a: Tenant;
let b: Tenant;
let creds: Record<Exclude<Who, "bad_password">, Credentials>;

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(), createTenant()]);
  const revoked = await createToken("org_admin", a.org.id);
  await revokeToken(db(), revoked.row.id, isoNow());
  creds = {
    super_admin: (await getSuperAdmin()).as,
    org_admin: a.admin.as,
    member: a.member.as,
    ingest: a.ingest.as,
    admin_token: a.adminToken.as,
    none: null,
    revoked_token: revoked.as,
  };
});

const freshMember = async (orgId: string) => (await createUser("member", orgId)).user.id;
const freshToken = async (orgId: string) => (await createToken("ingest", orgId)).row.id;

const routes: Record<string, Call> = {
  "POST /organizations": { method: "POST", path: () => "/api/v1/organizations", body: () => ({ name: unique("new-org") }) },
  "GET /organizations": { method: "GET", path: () => "/api/v1/organizations" },
  "GET /organizations/{id}": { method: "GET", path: (o) => `/api/v1/organizations/${o}` },
  "PATCH /organizations/{id}": { method: "PATCH", path: (o) => `/api/v1/organizations/${o}`, body: () => ({ name: unique("renamed") }) },
  "POST /users": {
    method: "POST",
    path: (o) => `/api/v1/organizations/${o}/users`,
    body: () => ({ username: unique("u"), password: "long enough password", role: "member" }),
  },
  "GET /users": { method: "GET", path: (o) => `/api/v1/organizations/${o}/users` },
  "PATCH /users/{id}": {
    method: "PATCH",
    path: async (o) => `/api/v1/organizations/${o}/users/${await freshMember(o)}`,
    body: () => ({ role: "org_admin" }),
  },
  "DELETE /users/{id}": { method: "DELETE", path: async (o) => `/api/v1/organizations/${o}/users/${await freshMember(o)}` },
  "POST /tokens": { method: "POST", path: (o) => `/api/v1/organizations/${o}/tokens`, body: () => ({ name: "ci", role: "ingest" }) },
  "GET /tokens": { method: "GET", path: (o) => `/api/v1/organizations/${o}/tokens` },
  "DELETE /tokens/{id}": { method: "DELETE", path: async (o) => `/api/v1/organizations/${o}/tokens/${await freshToken(o)}` },
  "GET /me": { method: "GET", path: () => "/api/v1/me" },
};

const ok = (status: number) => ({ super_admin: status, org_admin: status, admin_token: status });
const denied = { member: 403, ingest: 403, none: 401, bad_password: 401, revoked_token: 401 };
const expected: Record<string, Record<Who, number>> = {
  "POST /organizations": { ...ok(201), ...denied, org_admin: 403, admin_token: 403 },
  "GET /organizations": { ...ok(200), ...denied },
  "GET /organizations/{id}": { ...ok(200), ...denied },
  "PATCH /organizations/{id}": { ...ok(200), ...denied },
  "POST /users": { ...ok(201), ...denied },
  "GET /users": { ...ok(200), ...denied },
  "PATCH /users/{id}": { ...ok(200), ...denied },
  "DELETE /users/{id}": { ...ok(204), ...denied },
  "POST /tokens": { ...ok(201), ...denied },
  "GET /tokens": { ...ok(200), ...denied },
  "DELETE /tokens/{id}": { ...ok(204), ...denied },
  "GET /me": { ...ok(200), ...denied, member: 200 },
};

describe("role × route matrix", () => {
  for (const [name, call] of Object.entries(routes)) {
    for (const who of WHO) {
      it(`${name} as ${who} → ${expected[name]![who]}`, async () => {
        // A wrong password is tried on a user of its own each time: ten would lock one (auth tests cover that).
        const as = who === "bad_password" ? basic((await createUser("member", a.org.id)).user.username, "wrong password!") : creds[who];
        const res = await api(await call.path(a.org.id), { method: call.method, body: call.body?.(), as });
        expect(res.status).toBe(expected[name]![who]);
        if (res.status === 401) {
          expect(res.headers.get("WWW-Authenticate")).toContain("Basic");
          expect(res.json.error.code).toBe("unauthorized");
        }
        if (res.status === 403) expect(res.json.error.code).toBe("forbidden");
      });
    }
  }
});

describe("another tenant's organization is a 404", () => {
  const orgRoutes = Object.entries(routes).filter(([name]) => !name.startsWith("POST /organizations") && name !== "GET /organizations" && name !== "GET /me");
  for (const [name, call] of orgRoutes) {
    for (const who of ["org_admin", "member", "ingest", "admin_token"] as const) {
      it(`${name} on org B as org A's ${who} → 404, no data`, async () => {
        const res = await api(await call.path(b.org.id), { method: call.method, body: call.body?.(), as: creds[who] });
        expect(res.status).toBe(404);
        expect(res.json).toEqual({ error: { code: "not_found", message: "Organization not found" } });
      });
    }
  }

  // Tenancy, then the role, then the body: a 422 on a bad body, or a 403, before the tenancy check
  // would answer the same for a foreign organization and an unknown one, but not what a careful
  // caller expects (README, "Tenancy").
  const bodyRoutes = [
    ["PUT", "/services/svc_probe"],
    ["POST", "/services/svc_probe/backups"],
    ["POST", "/users"],
    ["PATCH", "/users/{userId}"],
    ["POST", "/tokens"],
    ["PUT", "/webhook"],
    ["PATCH", ""],
  ] as const;
  for (const [method, suffix] of bodyRoutes) {
    const path = (orgId: string) => `/api/v1/organizations/${orgId}${suffix.replace("{userId}", a.member.user.id)}`;
    it(`${method} /api/v1/organizations/{orgId}${suffix} with a bad body: 404 for another tenant's or an unknown organization, 403 for a role that may not, 422 only then`, async () => {
      for (const orgId of [b.org.id, crypto.randomUUID()]) {
        const res = await api(path(orgId), { method, body: { bogus: true }, as: creds.org_admin });
        expect(res.status, orgId).toBe(404);
        expect(res.json).toEqual({ error: { code: "not_found", message: "Organization not found" } });
      }
      expect((await api(path(a.org.id), { method, body: { bogus: true }, as: creds.member })).status).toBe(403);
      expect((await api(path(a.org.id), { method, body: { bogus: true }, as: creds.org_admin })).status).toBe(422);
    });
  }

  it("an unknown organization id looks exactly like a foreign one", async () => {
    const foreign = await api(`/api/v1/organizations/${b.org.id}`, { as: creds.org_admin });
    const unknown = await api(`/api/v1/organizations/${crypto.randomUUID()}`, { as: creds.org_admin });
    expect(unknown.status).toBe(foreign.status);
    expect(unknown.text).toBe(foreign.text);
  });

  it("a user or token of org B addressed through org A is a 404", async () => {
    const userB = await freshMember(b.org.id);
    const tokenB = await freshToken(b.org.id);
    const asAdmin = { as: creds.org_admin };
    expect((await api(`/api/v1/organizations/${a.org.id}/users/${userB}`, { method: "DELETE", ...asAdmin })).status).toBe(404);
    expect((await api(`/api/v1/organizations/${a.org.id}/users/${userB}`, { method: "PATCH", body: { role: "org_admin" }, ...asAdmin })).status).toBe(404);
    expect((await api(`/api/v1/organizations/${a.org.id}/tokens/${tokenB}`, { method: "DELETE", ...asAdmin })).status).toBe(404);
    const users = await api(`/api/v1/organizations/${b.org.id}/users`, { as: creds.super_admin });
    expect(users.json.items.map((u: { id: string }) => u.id)).toContain(userB);
  });

  it("org_admin lists only its own organization", async () => {
    const res = await api("/api/v1/organizations", { as: creds.org_admin });
    expect(res.json.items.map((o: { id: string }) => o.id)).toEqual([a.org.id]);
  });
});
