import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { loginAttempts, securityEvents, users } from "../src/db/schema";
import { api, basic, chainRows, createTenant, createUser, type Credentials, db, getSuperAdmin, PASSWORD, type Tenant } from "./helpers";

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

const NEW_PASSWORD = "a brand new passphrase";

async function signIn(username: string, password: string) {
  const res = await api("/login", {
    method: "POST",
    rawBody: new URLSearchParams({ username, password }).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
  const me = await api("/api/v1/me", { as: { cookie } });
  return { cookie, csrf: me.json.csrf_token as string };
}

const passwordHash = async (id: string) => (await db().select().from(users).where(eq(users.id, id)))[0]!.passwordHash;
const change = (as: Credentials, body: unknown) => api("/api/v1/me/password", { method: "POST", as, body });

describe("POST /api/v1/me/password", () => {
  it("changes the password from a session: audited, the other sessions end, this one stays", async () => {
    const { user } = await createUser("member", t.org.id);
    const here = await signIn(user.username, PASSWORD);
    const other = await signIn(user.username, PASSWORD);

    const res = await change(here, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    expect(res.status).toBe(204);

    expect((await api("/api/v1/me", { as: { cookie: here.cookie } })).status).toBe(200);
    expect((await api("/api/v1/me", { as: { cookie: other.cookie } })).status).toBe(401);
    expect((await api("/api/v1/me", { as: basic(user.username, PASSWORD) })).status).toBe(401);
    expect((await api("/api/v1/me", { as: basic(user.username, NEW_PASSWORD) })).status).toBe(200);

    const audited = (await chainRows(t.org.id)).filter((r) => r.action === "password_change" && r.resource_id === user.id);
    expect(audited).toHaveLength(1);
    expect(audited[0]!).toMatchObject({ actor_id: user.id, resource_type: "user", status: "success" });
    expect(JSON.parse(audited[0]!.metadata)).toMatchObject({ source: "chainproof", via: "session" });
    const stored = JSON.stringify(audited[0]);
    expect(stored).not.toContain(NEW_PASSWORD);
    expect(stored).not.toContain(await passwordHash(user.id));
  });

  it("with Basic credentials every session of the user ends", async () => {
    const { user, as } = await createUser("org_admin", t.org.id);
    const session = await signIn(user.username, PASSWORD);
    expect((await change(as, { current_password: PASSWORD, new_password: NEW_PASSWORD })).status).toBe(204);
    expect((await api("/api/v1/me", { as: { cookie: session.cookie } })).status).toBe(401);
  });

  it("a wrong current password is a 403, changes nothing, and counts as a failed login", async () => {
    const { user, as } = await createUser("member", t.org.id);
    const session = await signIn(user.username, PASSWORD);
    const hash = await passwordHash(user.id);
    const res = await change(as, { current_password: "not my password", new_password: NEW_PASSWORD });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("wrong_password");
    expect(await passwordHash(user.id)).toBe(hash);
    expect((await api("/api/v1/me", { as: { cookie: session.cookie } })).status).toBe(200);
    const [row] = await db().select().from(loginAttempts).where(eq(loginAttempts.username, user.username));
    expect(row).toMatchObject({ failures: 1, pending: 0 });
    const events = await db().select().from(securityEvents).where(eq(securityEvents.userId, user.id));
    // The dashboard sign-in above is its login_success; the wrong password one login_failed.
    expect(events.map((e) => e.eventType).sort()).toEqual(["login_failed", "login_success"]);
    expect((await chainRows(t.org.id)).filter((r) => r.action === "password_change" && r.resource_id === user.id)).toHaveLength(0);
  });

  it.each([
    ["short new password", { current_password: PASSWORD, new_password: "short" }, ["new_password"]],
    ["same as the current one", { current_password: PASSWORD, new_password: PASSWORD }, ["new_password"]],
    ["missing fields", {}, ["current_password", "new_password"]],
    ["unknown field", { current_password: PASSWORD, new_password: NEW_PASSWORD, username: "x" }, ["username"]],
  ])("%s → 422 naming the field, nothing changed", async (_label, body, fields) => {
    const { user, as } = await createUser("member", t.org.id);
    const hash = await passwordHash(user.id);
    const res = await change(as, body);
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("validation_error");
    expect(res.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual(fields);
    expect(await passwordHash(user.id)).toBe(hash);
  });

  it("API tokens have no password (403); an operator without an organization is sent to the admin script (409)", async () => {
    const byToken = await change(t.adminToken.as, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    expect(byToken.status).toBe(403);
    const sa = await getSuperAdmin();
    const hash = await passwordHash(sa.user.id);
    const operator = await change(sa.as, { current_password: PASSWORD, new_password: NEW_PASSWORD });
    expect(operator.status).toBe(409);
    expect(operator.json.error.message).toContain("reset-password");
    expect(await passwordHash(sa.user.id)).toBe(hash);
  });
});
