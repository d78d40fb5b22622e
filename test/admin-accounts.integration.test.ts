import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { type AccountRow, findUserSql, resetPasswordSql, unlockSql } from "../scripts/account-sql";
import { hashPassword } from "../src/auth/password";
import { loginAttempts, securityEvents, sessions } from "../src/db/schema";
import { isoNow } from "../src/time";
import { api, basic, createTenant, createUser, db, PASSWORD, type Tenant } from "./helpers";

// scripts/admin.ts sends this SQL text through `wrangler d1 execute`; here it runs against the
// test's real D1, and the effect is checked through the API.

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

async function lockOut(username: string) {
  const wrong = basic(username, "not the password");
  for (let i = 0; i < 10; i++) await api("/api/v1/me", { as: wrong });
  expect((await api("/api/v1/me", { as: basic(username, PASSWORD) })).json.error.code).toBe("account_locked");
}

const findUser = async (username: string) => (await env.DB.prepare(findUserSql(username)).all<AccountRow>()).results;

describe("npm run admin -- unlock / reset-password (their SQL)", () => {
  it("unlock lifts the lock of a username at once", async () => {
    const { user, as } = await createUser("member", t.org.id);
    await lockOut(user.username);
    expect(await findUser(user.username)).toEqual([{ id: user.id, organization_id: t.org.id, username: user.username }]);
    await env.DB.prepare(unlockSql(user.username)).run();
    expect(await db().select().from(loginAttempts).where(eq(loginAttempts.username, user.username))).toHaveLength(0);
    expect((await api("/api/v1/me", { as })).status).toBe(200);
  });

  it("finds nobody for an unknown or quote-laden username", async () => {
    expect(await findUser("nobody' OR '1'='1")).toEqual([]);
  });

  it("reset-password sets the hash, ends every session, lifts the lock and records password_reset", async () => {
    const { user } = await createUser("org_admin", t.org.id);
    const login = await api("/login", {
      method: "POST",
      rawBody: new URLSearchParams({ username: user.username, password: PASSWORD }).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    const cookie = login.headers.get("Set-Cookie")!.split(";")[0]!;
    await lockOut(user.username);

    const [row] = await findUser(user.username);
    const newPassword = "operator chose this one";
    const eventId = crypto.randomUUID();
    const statements = resetPasswordSql(row!, await hashPassword(newPassword), isoNow(), eventId);
    await env.DB.batch(statements.map((s) => env.DB.prepare(s)));

    expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toHaveLength(0);
    expect((await api("/api/v1/me", { as: { cookie } })).status).toBe(401);
    expect((await api("/api/v1/me", { as: basic(user.username, PASSWORD) })).json.error.code).toBe("unauthorized");
    expect((await api("/api/v1/me", { as: basic(user.username, newPassword) })).status).toBe(200);
    const [event] = await db().select().from(securityEvents).where(eq(securityEvents.id, eventId));
    expect(event).toMatchObject({
      organizationId: t.org.id,
      userId: user.id,
      eventType: "password_reset",
      riskScore: 40,
      alerted: false,
      metadata: { username: user.username, by: "npm run admin -- reset-password" },
    });
  });
});
