import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { loginAttempts, securityEvents, users } from "../src/db/schema";
import { api, basic, createTenant, db, PASSWORD, sha256Hex, type Tenant, utf8 } from "./helpers";

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

const eventsFor = (username: string, type: string) =>
  db()
    .select()
    .from(securityEvents)
    .where(and(eq(securityEvents.eventType, type), sql`json_extract(${securityEvents.metadata}, '$.username') = ${username}`));

describe("lockout", () => {
  it("locks a username after 10 failures in 15 minutes, then lets it in after the window", async () => {
    const { user } = t.member;
    const wrong = basic(user.username, "not the password");
    for (let i = 1; i <= 9; i++) {
      const res = await api("/api/v1/me", { as: wrong });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe("unauthorized");
    }
    const tenth = await api("/api/v1/me", { as: wrong });
    expect(tenth.status).toBe(401);
    expect(tenth.json.error.code).toBe("account_locked");
    const retryAfter = Number(tenth.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // The message says when, for the person reading it (the sign-in page shows it).
    expect(tenth.json.error.message).toBe(`Too many failed logins; try again in ${Math.ceil(retryAfter / 60)} minutes`);

    // Even the right password is refused while locked, and it does not count as a failure.
    const locked = await api("/api/v1/me", { as: t.member.as });
    expect(locked.status).toBe(401);
    expect(locked.json.error.code).toBe("account_locked");

    const failed = await eventsFor(user.username, "login_failed");
    expect(failed.map((e) => [e.organizationId, e.userId, e.riskScore])).toEqual(Array(10).fill([t.org.id, user.id, 20]));
    const lockedEvents = await eventsFor(user.username, "account_locked");
    expect(lockedEvents).toHaveLength(1);
    expect(lockedEvents[0]!.riskScore).toBe(70);

    // The window passes: move the lock into the past as the clock would.
    const past = new Date(Date.now() - 1000).toISOString();
    await db().update(loginAttempts).set({ lockedUntil: past, windowStartedAt: new Date(Date.now() - 16 * 60_000).toISOString() }).where(eq(loginAttempts.username, user.username));
    const after = await api("/api/v1/me", { as: t.member.as });
    expect(after.status).toBe(200);
    const cleared = await db().select().from(loginAttempts).where(eq(loginAttempts.username, user.username));
    expect(cleared).toHaveLength(0);
  });

  it("failures older than the window start a new count", async () => {
    const { user } = t.admin;
    const wrong = basic(user.username, "not the password");
    for (let i = 0; i < 9; i++) await api("/api/v1/me", { as: wrong });
    await db().update(loginAttempts).set({ windowStartedAt: new Date(Date.now() - 16 * 60_000).toISOString() }).where(eq(loginAttempts.username, user.username));
    const res = await api("/api/v1/me", { as: wrong });
    expect(res.json.error.code).toBe("unauthorized");
    const [row] = await db().select().from(loginAttempts).where(eq(loginAttempts.username, user.username));
    expect(row!.failures).toBe(1);
    expect((await api("/api/v1/me", { as: t.admin.as })).status).toBe(200);
  });
  // Unknown usernames: test/login-budget.integration.test.ts.
});

describe("API tokens", () => {
  it("is shown once, stored only as SHA-256, revoked at once, and tracks last_used_at (to the minute)", async () => {
    const created = await api(`/api/v1/organizations/${t.org.id}/tokens`, { method: "POST", as: t.admin.as, body: { name: "deploy", role: "org_admin" } });
    expect(created.status).toBe(201);
    expect(Object.keys(created.json).sort()).toEqual(["created_at", "id", "name", "role", "token"]);
    const token: string = created.json.token;
    expect(token).toMatch(new RegExp(`^cp_${t.org.id}_[A-Za-z0-9_-]{43}$`));

    const stored = await env.DB.prepare("SELECT * FROM api_tokens WHERE id = ?").bind(created.json.id).first<Record<string, unknown>>();
    expect(Object.values(stored!)).not.toContain(token);
    expect(stored!.token_hash).toBe(await sha256Hex(utf8(token)));

    const listed = await api(`/api/v1/organizations/${t.org.id}/tokens`, { as: t.admin.as });
    const entry = listed.json.items.find((i: { id: string }) => i.id === created.json.id);
    expect(entry.last_used_at).toBeNull();
    expect(JSON.stringify(listed.json)).not.toContain(token);

    expect((await api("/api/v1/me", { as: { bearer: token } })).status).toBe(200);
    const used1 = (await env.DB.prepare("SELECT last_used_at FROM api_tokens WHERE id = ?").bind(created.json.id).first<{ last_used_at: string }>())!.last_used_at;
    expect(used1).not.toBeNull();
    // Within the same minute it is not rewritten; a minute later it moves.
    await api("/api/v1/me", { as: { bearer: token } });
    const lastUsed = () => env.DB.prepare("SELECT last_used_at FROM api_tokens WHERE id = ?").bind(created.json.id).first<{ last_used_at: string }>();
    expect((await lastUsed())!.last_used_at).toBe(used1);
    const earlier = new Date(Date.parse(used1) - 61_000).toISOString();
    await env.DB.prepare("UPDATE api_tokens SET last_used_at = ? WHERE id = ?").bind(earlier, created.json.id).run();
    await api("/api/v1/me", { as: { bearer: token } });
    const used2 = (await lastUsed())!.last_used_at;
    expect(used2 > earlier).toBe(true);
    expect(Date.parse(used2)).toBeGreaterThanOrEqual(Date.parse(used1));

    expect((await api(`/api/v1/organizations/${t.org.id}/tokens/${created.json.id}`, { method: "DELETE", as: t.admin.as })).status).toBe(204);
    const after = await api("/api/v1/me", { as: { bearer: token } });
    expect(after.status).toBe(401);
    expect(after.headers.get("WWW-Authenticate")).toContain("Bearer");
  });

  it("an unknown token or scheme is a 401", async () => {
    expect((await api("/api/v1/me", { as: { bearer: "cp_" + "A".repeat(43) } })).status).toBe(401);
    expect((await api("/api/v1/me", { headers: { Authorization: "Digest abc" } })).status).toBe(401);
    expect((await api("/api/v1/me", { headers: { Authorization: "Basic %%%notbase64" } })).status).toBe(401);
  });
});

describe("dashboard session", () => {
  async function login(username: string, password: string, origin?: string) {
    const form = new URLSearchParams({ username, password }).toString();
    return api("/login", {
      method: "POST",
      rawBody: form,
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...(origin ? { Origin: origin } : {}) },
    });
  }

  it("sets a signed HttpOnly Secure SameSite=Lax cookie that authenticates, with CSRF on changes", async () => {
    const res = await login(t.admin.user.username, PASSWORD);
    expect(res.status).toBe(303);
    const setCookie = res.headers.get("Set-Cookie")!;
    expect(setCookie).toMatch(/^cp_session=[^;]+\.[^;]+;/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("Secure");
    expect(setCookie).toContain("SameSite=Lax");
    expect(setCookie).toMatch(/Max-Age=28800/);
    const cookie = setCookie.split(";")[0]!;

    const me = await api("/api/v1/me", { as: { cookie } });
    expect(me.status).toBe(200);
    expect(me.json.via).toBe("session");
    const csrf = me.json.csrf_token as string;

    const body = { name: "from the dashboard", role: "ingest" };
    const noCsrf = await api(`/api/v1/organizations/${t.org.id}/tokens`, { method: "POST", as: { cookie }, body });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.json.error.code).toBe("csrf_failed");
    const withCsrf = await api(`/api/v1/organizations/${t.org.id}/tokens`, { method: "POST", as: { cookie, csrf }, body });
    expect(withCsrf.status).toBe(201);

    // A cross-site request (a link or form on another site) with the cookie is refused, even a GET.
    const crossSite = await api("/api/v1/me", { as: { cookie }, headers: { "Sec-Fetch-Site": "cross-site" } });
    expect(crossSite.status).toBe(403);
    expect(crossSite.json.error.code).toBe("csrf_failed");
    expect((await api("/api/v1/me", { as: { cookie }, headers: { "Sec-Fetch-Site": "same-origin" } })).status).toBe(200);

    // A tampered signature is no session at all.
    const [name, value] = cookie.split("=");
    const forged = `${name}=${value!.slice(0, -3)}AAA`;
    expect((await api("/api/v1/me", { as: { cookie: forged } })).status).toBe(401);
  });

  it("refuses a cross-site login post and a wrong password", async () => {
    expect((await login(t.admin.user.username, PASSWORD, "https://evil.example")).status).toBe(403);
    const bad = await login(t.admin.user.username, "wrong password");
    expect(bad.status).toBe(401);
    expect(bad.headers.get("Set-Cookie")).toBeNull();
  });

  it("logout ends the session server-side", async () => {
    const res = await login(t.admin.user.username, PASSWORD);
    const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
    const me = await api("/api/v1/me", { as: { cookie } });
    const out = await api("/logout", {
      method: "POST",
      rawBody: new URLSearchParams({ _csrf: me.json.csrf_token }).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
    });
    expect(out.status).toBe(303);
    expect((await api("/api/v1/me", { as: { cookie } })).status).toBe(401);
  });
});

describe("bad input changes nothing", () => {
  const countUsers = async () => (await db().select({ n: sql<number>`count(*)` }).from(users))[0]!.n;

  it.each([
    ["wrong types", { username: 42, password: true, role: "member" }, ["username", "password"]],
    ["unknown role", { username: "valid-name", password: "long enough password", role: "super_admin" }, ["role"]],
    ["unknown field", { username: "valid-name2", password: "long enough password", role: "member", is_admin: true }, ["is_admin"]],
    ["short password and bad username", { username: "a b", password: "short", role: "member" }, ["username", "password"]],
    ["missing everything", {}, ["username", "password", "role"]],
  ])("%s → 422 naming each field", async (_label, body, fields) => {
    const before = await countUsers();
    const res = await api(`/api/v1/organizations/${t.org.id}/users`, { method: "POST", as: t.adminToken.as, body });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("validation_error");
    expect(res.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual([...fields].sort());
    expect(await countUsers()).toBe(before);
  });

  it("malformed JSON → 400, non-JSON → 415, oversized → 413; nothing written", async () => {
    const before = await countUsers();
    const path = `/api/v1/organizations/${t.org.id}/users`;
    const malformed = await api(path, { method: "POST", as: t.adminToken.as, rawBody: '{"username": ', headers: { "Content-Type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe("bad_request");
    const form = await api(path, { method: "POST", as: t.adminToken.as, rawBody: "username=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    const huge = await api(path, {
      method: "POST",
      as: t.adminToken.as,
      body: { username: "big-one", password: "x".repeat(70 * 1024), role: "member" },
    });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe("payload_too_large");
    expect(await countUsers()).toBe(before);
  });

  it("a duplicate username → 409 and no second user", async () => {
    const before = await countUsers();
    const res = await api(`/api/v1/organizations/${t.org.id}/users`, {
      method: "POST",
      as: t.adminToken.as,
      body: { username: t.member.user.username, password: "long enough password", role: "member" },
    });
    expect(res.status).toBe(409);
    expect(await countUsers()).toBe(before);
  });

  it("an org_admin cannot set the tier; a super_admin can, and invalid tiers are 422", async () => {
    const path = `/api/v1/organizations/${t.org.id}`;
    const byAdmin = await api(path, { method: "PATCH", as: t.admin.as, body: { settings: { tier: "UNLIMITED" } } });
    expect(byAdmin.status).toBe(403);
    const { getSuperAdmin } = await import("./helpers");
    const sa = (await getSuperAdmin()).as;
    const bad = await api(path, { method: "PATCH", as: sa, body: { settings: { tier: "GOLD" } } });
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].field).toBe("settings.tier");
    const good = await api(path, { method: "PATCH", as: sa, body: { settings: { tier: "STARTER" } } });
    expect(good.status).toBe(200);
    expect(good.json.tier).toBe("STARTER");
    expect(good.json.settings.tier).toBe("STARTER");
  });

  it("errors carry no stack traces", async () => {
    const res = await api(`/api/v1/organizations/${t.org.id}/users`, { method: "POST", as: t.adminToken.as, body: { username: 1 } });
    expect(res.text).not.toMatch(/at \w+ \(|\.ts:\d+/);
  });
});
