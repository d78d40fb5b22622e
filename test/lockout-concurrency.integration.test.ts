import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { securityEvents } from "../src/db/schema";
import { api, basic, createTenant, createUser, db, type Tenant } from "./helpers";

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

const failedLogins = async (username: string) =>
  (
    await db()
      .select({ n: sql<number>`count(*)` })
      .from(securityEvents)
      .where(and(eq(securityEvents.eventType, "login_failed"), sql`json_extract(${securityEvents.metadata}, '$.username') = ${username}`))
  )[0]!.n;

const lockEvents = async (username: string) =>
  (
    await db()
      .select({ n: sql<number>`count(*)` })
      .from(securityEvents)
      .where(and(eq(securityEvents.eventType, "account_locked"), sql`json_extract(${securityEvents.metadata}, '$.username') = ${username}`))
  )[0]!.n;

describe("lockout under concurrency", () => {
  it("40 parallel wrong guesses: exactly 10 are checked, the rest refused unchecked; then the right password is locked out", async () => {
    const { user, as } = await createUser("member", t.org.id);
    const wrong = basic(user.username, "not the password");
    const answers = await Promise.all(Array.from({ length: 40 }, () => api("/api/v1/me", { as: wrong })));

    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(401));
    const codes = answers.map((a) => a.json.error.code);
    expect(codes.filter((c) => c === "unauthorized")).toHaveLength(9);
    expect(codes.filter((c) => c === "account_locked")).toHaveLength(31);
    const lockedRetry = answers.filter((a) => a.json.error.code === "account_locked").map((a) => Number(a.headers.get("Retry-After")));
    expect(lockedRetry.filter((seconds) => seconds >= 1)).toHaveLength(31);
    expect(await failedLogins(user.username)).toBe(10);
    expect(await lockEvents(user.username)).toBe(1);

    const right = await api("/api/v1/me", { as });
    expect(right.status).toBe(401);
    expect(right.json.error.code).toBe("account_locked");
    const retryAfter = Number(right.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(await failedLogins(user.username)).toBe(10);
  });

  it("a burst of wrong guesses with the right password in it never checks more than 10, and the right one never gets in past the lock", async () => {
    const { user, as } = await createUser("member", t.org.id);
    const wrong = basic(user.username, "not the password");
    // Nine failures first: one slot is left, which either the right password or a guess takes.
    for (let i = 0; i < 9; i++) expect((await api("/api/v1/me", { as: wrong })).json.error.code).toBe("unauthorized");

    const burst = Array.from({ length: 30 }, (_, i) => (i === 15 ? as : wrong));
    const answers = await Promise.all(burst.map((credentials) => api("/api/v1/me", { as: credentials })));
    const rightAnswer = answers[15]!;
    const guesses = answers.filter((_, i) => i !== 15);

    const failures = await failedLogins(user.username);
    expect(failures).toBeGreaterThanOrEqual(9);
    expect(failures).toBeLessThanOrEqual(10);
    // A guess was either checked (a failure: the 10th locks, so it answers account_locked) or refused unchecked.
    expect(guesses.map((a) => [a.status, a.json.error.code])).toEqual(Array(29).fill([401, "account_locked"]));
    expect(await lockEvents(user.username)).toBe(failures - 9);
    if (rightAnswer.status !== 200) {
      // Refused: the guess that took the last slot locked the account first.
      expect(rightAnswer.status).toBe(401);
      expect(rightAnswer.json.error.code).toBe("account_locked");
      expect(failures).toBe(10);
    }
  });

  it("40 parallel requests with the right password are all served: checks still running are no failures", async () => {
    const { user, as } = await createUser("member", t.org.id);
    const answers = await Promise.all(Array.from({ length: 40 }, () => api("/api/v1/me", { as })));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    expect(await failedLogins(user.username)).toBe(0);
    expect(await lockEvents(user.username)).toBe(0);
  });
});
