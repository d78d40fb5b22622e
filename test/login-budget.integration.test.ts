import { env } from "cloudflare:workers";
import { and, eq, like, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { IP_FAILURE_LIMIT, IP_WINDOW_MS, ipWindowStart, retryAfterText, UNKNOWN_USERNAME_BUCKETS, unknownUsernameSubject } from "../src/auth/login-policy";
import { loginAttempts, loginIpWindows, securityEvents } from "../src/db/schema";
import { api, basic, createTenant, db, type Tenant, unique } from "./helpers";
import { runCron } from "./security-helpers";

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

const newIp = () => `2001:db8::${[...crypto.getRandomValues(new Uint16Array(4))].map((n) => n.toString(16)).join(":")}`;
const from = (ip: string) => ({ "CF-Connecting-IP": ip });

/** The per-IP counts are per clock-aligned window: start a test that counts with time to spare in it. */
async function awayFromWindowEdge() {
  const left = ipWindowStart(Date.now()) + IP_WINDOW_MS - Date.now();
  if (left < 30_000) await scheduler.wait(left + 50);
}

/** Lockout rows of these subjects as subject → failures (bound as one JSON array: D1 takes 100 parameters). */
async function failuresOf(subjects: string[]) {
  const rows = await db()
    .select()
    .from(loginAttempts)
    .where(sql`${loginAttempts.username} IN (SELECT value FROM json_each(${JSON.stringify(subjects)}))`);
  return new Map(rows.map((r) => [r.username, r.failures]));
}

const eventsFrom = (ip: string) => db().select().from(securityEvents).where(eq(securityEvents.ipAddress, ip));

describe("when to retry, in words", () => {
  it("rounds Retry-After's seconds up to whole minutes, one at least", () => {
    expect([1, 59, 60, 61, 899, 900].map(retryAfterText)).toEqual([
      "try again in 1 minute",
      "try again in 1 minute",
      "try again in 1 minute",
      "try again in 2 minutes",
      "try again in 15 minutes",
      "try again in 15 minutes",
    ]);
  });
});

describe("per-IP budget of failed logins", () => {
  it(`after ${IP_FAILURE_LIMIT} failures from one IP, refuses the next login with 429 before checking, even the right password; other IPs are unaffected`, { timeout: 60_000 }, async () => {
    await awayFromWindowEdge();
    const ip = newIp();
    const ghosts = Array.from({ length: IP_FAILURE_LIMIT + 10 }, () => basic(unique("ghost"), "some guess"));
    const answers = await Promise.all(ghosts.map((as) => api("/api/v1/me", { as, headers: from(ip) })));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(10);
    expect(answers.filter((a) => a.status === 401 && a.json.error.code === "unauthorized")).toHaveLength(IP_FAILURE_LIMIT);
    for (const r of refused) {
      expect(r.json.error.code).toBe("too_many_attempts");
      const retryAfter = Number(r.headers.get("Retry-After"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(IP_WINDOW_MS / 1000);
    }

    // The budget counts failures, so the right password from that IP is refused too, unchecked.
    const right = await api("/api/v1/me", { as: t.member.as, headers: from(ip) });
    expect(right.status).toBe(429);
    expect((await api("/api/v1/me", { as: t.member.as, headers: from(newIp()) })).status).toBe(200);
    const page = await api("/login", {
      method: "POST",
      rawBody: new URLSearchParams({ username: t.member.user.username, password: "x" }).toString(),
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...from(ip) },
    });
    expect(page.status).toBe(429);
    expect(Number(page.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    // Refusals are not failures: the member's own lockout row holds nothing.
    expect(await db().select().from(loginAttempts).where(eq(loginAttempts.username, t.member.user.username))).toHaveLength(0);
  });

  it("successful logins do not use the budget", { timeout: 60_000 }, async () => {
    await awayFromWindowEdge();
    const ip = newIp();
    for (let i = 0; i < 3; i++) expect((await api("/api/v1/me", { as: t.admin.as, headers: from(ip) })).status).toBe(200);
    expect(await db().select().from(loginIpWindows).where(eq(loginIpWindows.ipAddress, ip))).toHaveLength(0);
    await api("/api/v1/me", { as: basic(t.admin.user.username, "wrong one"), headers: from(ip) });
    const [row] = await db().select().from(loginIpWindows).where(eq(loginIpWindows.ipAddress, ip));
    expect(row!.failures).toBe(1);
  });
});

describe("unknown usernames are counted, not stored one by one", () => {
  it("200 distinct unknown usernames from one IP: one IP row, at most 50 lockout rows, exactly two events", { timeout: 120_000 }, async () => {
    await awayFromWindowEdge();
    const ip = newIp();
    const names = Array.from({ length: 200 }, () => unique("nobody"));
    const subjects = await Promise.all(names.map((n) => unknownUsernameSubject(env.SECRET_KEY, n)));
    const before = await failuresOf(subjects);
    const statuses = [];
    for (const name of names) statuses.push((await api("/api/v1/me", { as: basic(name, "guess"), headers: from(ip) })).status);
    expect(statuses).toEqual([...Array(IP_FAILURE_LIMIT).fill(401), ...Array(200 - IP_FAILURE_LIMIT).fill(429)]);

    // Only the buckets of the 50 names that were checked moved, each by its names' failures; no row is a name.
    const expected = new Map(before);
    for (const subject of subjects.slice(0, IP_FAILURE_LIMIT)) expected.set(subject, (expected.get(subject) ?? 0) + 1);
    expect(await failuresOf(subjects)).toEqual(expected);
    expect(await failuresOf(names)).toEqual(new Map());
    const [{ buckets }] = (await db().select({ buckets: sql<number>`count(*)` }).from(loginAttempts).where(like(loginAttempts.username, "unknown:%"))) as [
      { buckets: number },
    ];
    expect(buckets).toBeLessThanOrEqual(UNKNOWN_USERNAME_BUCKETS);

    const ipRows = await db().select().from(loginIpWindows).where(eq(loginIpWindows.ipAddress, ip));
    expect(ipRows).toHaveLength(1);
    expect(ipRows[0]!.failures).toBe(IP_FAILURE_LIMIT);

    const events = await eventsFrom(ip);
    expect(events.map((e) => e.eventType).sort()).toEqual(["login_failed", "rate_limited"]);
    // Counted events are chainproof's own observations, never the platform's.
    expect(events.map((e) => e.source)).toEqual(["chainproof", "chainproof"]);
    const failed = events.find((e) => e.eventType === "login_failed")!;
    expect(failed.organizationId).toBeNull();
    expect(failed.metadata).toMatchObject({ failures: IP_FAILURE_LIMIT, unknown_usernames: true });
    expect(JSON.stringify(failed)).not.toContain(names[0]);
    const limited = events.find((e) => e.eventType === "rate_limited")!;
    expect(limited.metadata).toMatchObject({ refused: 150, limit: IP_FAILURE_LIMIT });
    expect(limited.riskScore).toBe(50);
    expect(limited.alerted).toBe(false);
  });

  it("an unknown username still locks after exactly 10 failures, like an account, and every address sees the lock", { timeout: 60_000 }, async () => {
    // A name whose bucket nothing else in this run has touched, so the count starts from zero.
    let name: string;
    do name = unique("ghost");
    while ((await db().select().from(loginAttempts).where(eq(loginAttempts.username, await unknownUsernameSubject(env.SECRET_KEY, name)))).length > 0);
    const ghost = basic(name, "whatever it is");
    const codes = [];
    for (let i = 0; i < 10; i++) codes.push((await api("/api/v1/me", { as: ghost, headers: from(newIp()) })).json.error.code);
    expect(codes).toEqual([...Array(9).fill("unauthorized"), "account_locked"]);
    const elsewhere = await api("/api/v1/me", { as: ghost, headers: from(newIp()) });
    expect(elsewhere.json.error.code).toBe("account_locked");
    expect(Number(elsewhere.headers.get("Retry-After"))).toBeGreaterThan(14 * 60);
    // A lock on an unknown name is no account's lock: no account_locked event (it would alert).
    const locked = await db()
      .select()
      .from(securityEvents)
      .where(and(eq(securityEvents.eventType, "account_locked"), sql`json_extract(${securityEvents.metadata}, '$.username') = ${name}`));
    expect(locked).toHaveLength(0);
  });
});

describe("the 5-minute cron", () => {
  it("drops IP windows and lockout rows that are over, and keeps the live ones", async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const [oldIp, liveIp, over, stillLocked, live] = [newIp(), newIp(), unique("over"), unique("locked"), unique("live")];
    await db().insert(loginIpWindows).values([
      { ipAddress: oldIp, windowStartedAt: iso(ipWindowStart(now) - IP_WINDOW_MS), failures: 50 },
      { ipAddress: liveIp, windowStartedAt: iso(ipWindowStart(now)), failures: 3 },
    ]);
    await db().insert(loginAttempts).values([
      { username: over, failures: 10, windowStartedAt: iso(now - 31 * 60_000), lockedUntil: iso(now - 60_000) },
      { username: stillLocked, failures: 10, windowStartedAt: iso(now - 20 * 60_000), lockedUntil: iso(now + 60_000) },
      { username: live, failures: 2, windowStartedAt: iso(now - 60_000) },
    ]);
    await runCron(now);
    const ips = await db().select().from(loginIpWindows).where(sql`${loginIpWindows.ipAddress} IN (${oldIp}, ${liveIp})`);
    expect(ips.map((r) => r.ipAddress)).toEqual([liveIp]);
    const subjects = await failuresOf([over, stillLocked, live]);
    expect([...subjects.keys()].sort()).toEqual([live, stillLocked].sort());
  });
});
