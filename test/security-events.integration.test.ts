import { count, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { securityEvents } from "../src/db/schema";
import { api, createTenant, type Credentials, db, getSuperAdmin, type Tenant } from "./helpers";
import { eventBody, listEvents, postEvent, query } from "./security-helpers";

let a: Tenant;
let b: Tenant;
let sa: Credentials;

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(), createTenant()]);
  sa = (await getSuperAdmin()).as;
});

const eventsOf = async (orgId: string) => (await db().select({ n: count() }).from(securityEvents).where(eq(securityEvents.organizationId, orgId)))[0]!.n;
const fieldsOf = (res: { json: any }) => (res.json.error.details as { field: string }[]).map((d) => d.field).sort();

/** Posts each body as the tenant's ingest token and answers the stored events. */
async function seed(t: Tenant, bodies: Record<string, unknown>[]) {
  const stored = [];
  for (const body of bodies) {
    const res = await postEvent(t.ingest.as, eventBody(body));
    expect(res.status).toBe(201);
    stored.push(res.json);
  }
  return stored;
}

describe("POST /api/v1/audit/security-events", () => {
  it("a timestamp more than 24 hours ahead of the clock is a 422 on it and stores nothing", async () => {
    const res = await postEvent(a.ingest.as, eventBody({ description: "from the future", timestamp: new Date(Date.now() + 25 * 3_600_000).toISOString() }));
    expect(res.status).toBe(422);
    expect(res.json.error.details).toEqual([{ field: "timestamp", message: "must not be more than 24 hours in the future" }]);
    expect((await listEvents(a.admin.as, { search: "from the future" })).json.items).toEqual([]);
  });

  it("stores the event apart from the audit log and answers it in snake_case", async () => {
    const userId = crypto.randomUUID();
    const res = await postEvent(a.ingest.as, {
      user_id: userId,
      event_type: "privilege_escalation_attempt",
      severity: "Sev-2 (custom)",
      risk_score: 45,
      description: "tried to grant itself admin",
      ip_address: "2001:db8::7",
      user_agent: "platform/2.0",
      metadata: { request_id: "r-1", nested: { ok: true } },
      timestamp: "2026-03-01T12:00:00.5+02:00",
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(
      ["alerted", "description", "event_type", "id", "ip_address", "metadata", "organization_id", "risk_score", "severity", "source", "timestamp", "user_agent", "user_id"].sort(),
    );
    expect(res.json).toMatchObject({
      organization_id: a.org.id,
      user_id: userId,
      event_type: "privilege_escalation_attempt",
      severity: "Sev-2 (custom)",
      risk_score: 45,
      description: "tried to grant itself admin",
      ip_address: "2001:db8::7",
      user_agent: "platform/2.0",
      metadata: { request_id: "r-1", nested: { ok: true } },
      timestamp: "2026-03-01T10:00:00.500Z",
      alerted: false,
    });
    const [row] = await db().select().from(securityEvents).where(eq(securityEvents.id, res.json.id));
    expect(row).toMatchObject({ organizationId: a.org.id, severity: "Sev-2 (custom)", riskScore: 45, timestamp: "2026-03-01T10:00:00.500Z", alerted: false });
  });

  it("fills the defaults: severity info, empty metadata, nulls, timestamp now", async () => {
    const before = Date.now();
    const res = await postEvent(a.adminToken.as, { event_type: "rate_limited", risk_score: 5 });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ severity: "info", metadata: {}, user_id: null, description: null, ip_address: null, user_agent: null, alerted: false });
    expect(Date.parse(res.json.timestamp)).toBeGreaterThanOrEqual(before - 1000);
    expect(res.json.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("is for ingest, org_admin and super_admin naming the organization", async () => {
    expect((await postEvent(a.admin.as, eventBody())).status).toBe(201);
    expect((await postEvent(a.adminToken.as, eventBody())).status).toBe(201);
    expect((await postEvent(a.member.as, eventBody())).status).toBe(403);
    expect((await postEvent(null, eventBody())).status).toBe(401);

    const unnamed = await postEvent(sa, eventBody());
    expect(unnamed.status).toBe(422);
    expect(fieldsOf(unnamed)).toEqual(["organization_id"]);
    const named = await postEvent(sa, eventBody({ organization_id: b.org.id }));
    expect(named.status).toBe(201);
    expect(named.json.organization_id).toBe(b.org.id);
    expect((await postEvent(sa, eventBody({ organization_id: crypto.randomUUID() }))).status).toBe(422);
  });

  it("another organization's organization_id is a 422 and stores nothing anywhere", async () => {
    const [inA, inB] = [await eventsOf(a.org.id), await eventsOf(b.org.id)];
    for (const as of [a.ingest.as, a.admin.as]) {
      const res = await postEvent(as, eventBody({ organization_id: b.org.id }));
      expect(res.status).toBe(422);
      expect(fieldsOf(res)).toEqual(["organization_id"]);
    }
    expect(await postEvent(a.ingest.as, eventBody({ organization_id: a.org.id })).then((r) => r.status)).toBe(201);
    expect([await eventsOf(a.org.id), await eventsOf(b.org.id)]).toEqual([inA + 1, inB]);
  });

  const bad: [string, Record<string, unknown>, string[]][] = [
    ["risk above 100", { risk_score: 101 }, ["risk_score"]],
    ["negative risk", { risk_score: -1 }, ["risk_score"]],
    ["fractional risk", { risk_score: 50.5 }, ["risk_score"]],
    ["risk as text", { risk_score: "50" }, ["risk_score"]],
    ["missing risk", { risk_score: undefined }, ["risk_score"]],
    ["unknown event type", { event_type: "hacked" }, ["event_type"]],
    ["severity over 20 characters", { severity: "x".repeat(21) }, ["severity"]],
    ["description over 2000", { description: "d".repeat(2001) }, ["description"]],
    ["bad IPv4", { ip_address: "999.1.1.1" }, ["ip_address"]],
    ["not an IP", { ip_address: "localhost" }, ["ip_address"]],
    ["user agent over 512", { user_agent: "u".repeat(513) }, ["user_agent"]],
    ["user_id not a uuid", { user_id: "bob" }, ["user_id"]],
    ["metadata not an object", { metadata: ["a"] }, ["metadata"]],
    ["timestamp not ISO 8601", { timestamp: "yesterday" }, ["timestamp"]],
    ["timestamp without zone", { timestamp: "2026-01-01T00:00:00" }, ["timestamp"]],
    ["server-owned fields", { id: crypto.randomUUID(), alerted: true }, ["alerted", "id"]],
    ["several at once", { risk_score: 200, event_type: "nope", ip_address: "x", severity: "" }, ["event_type", "ip_address", "risk_score", "severity"]],
  ];
  it.each(bad)("%s → 422 naming each field, nothing stored", async (_label, overrides, fields) => {
    const before = await eventsOf(a.org.id);
    const res = await postEvent(a.ingest.as, eventBody(overrides));
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("validation_error");
    expect(fieldsOf(res)).toEqual(fields);
    expect(await eventsOf(a.org.id)).toBe(before);
  });

  it("a refused body names its organization problem with the schema's fields", async () => {
    const before = [await eventsOf(a.org.id), await eventsOf(b.org.id)];
    const foreign = await postEvent(a.ingest.as, eventBody({ organization_id: b.org.id, risk_score: 101 }));
    expect(foreign.status).toBe(422);
    expect(fieldsOf(foreign)).toEqual(["organization_id", "risk_score"]);
    const unnamed = await postEvent(sa, eventBody({ ip_address: "x" }));
    expect(unnamed.json.error.details).toEqual([
      { field: "ip_address", message: expect.any(String) },
      { field: "organization_id", message: "a super_admin must name the organization" },
    ]);
    expect([await eventsOf(a.org.id), await eventsOf(b.org.id)]).toEqual(before);
  });

  it("an unknown event type is refused with the allowed values listed", async () => {
    const res = await postEvent(a.ingest.as, eventBody({ event_type: "hacked" }));
    const message: string = res.json.error.details[0].message;
    for (const allowed of ["login_success", "login_failed", "token_misuse"]) expect(message).toContain(allowed);
    for (const chainproofOnly of ["account_locked", "chain_integrity_failure"]) expect(message).not.toContain(chainproofOnly);
  });
});

describe("severity: risk bands, never the stored text", () => {
  let t: Tenant;
  const risks = [0, 19, 20, 49, 50, 79, 80, 100];
  beforeAll(async () => {
    t = await createTenant();
    await seed(t, [
      ...risks.map((risk_score) => ({ risk_score, severity: `custom-${risk_score}` })),
      { risk_score: 95, severity: "weird-custom" },
      { risk_score: 95, severity: undefined },
      { risk_score: 10, severity: "critical" },
    ]);
  });

  it.each([
    ["low", [0, 10, 19]],
    ["medium", [20, 49]],
    ["high", [50, 79]],
    ["critical", [80, 95, 95, 100]],
  ])("severity=%s is risk band %j", async (band, expected) => {
    const res = await listEvents(t.admin.as, { severity: band as string });
    expect(res.status).toBe(200);
    expect(res.json.items.map((e: { risk_score: number }) => e.risk_score).sort((x: number, y: number) => x - y)).toEqual(expected);
    expect(res.json.total).toBe(expected.length);
  });

  it("keeps the severity text exactly as it was inserted", async () => {
    const all = (await listEvents(t.admin.as, { per_page: 200 })).json.items as { risk_score: number; severity: string }[];
    const texts = Object.fromEntries(all.filter((e) => e.severity.startsWith("custom-")).map((e) => [e.risk_score, e.severity]));
    expect(texts).toEqual(Object.fromEntries(risks.map((r) => [r, `custom-${r}`])));
    expect(all.filter((e) => e.risk_score === 95).map((e) => e.severity).sort()).toEqual(["info", "weird-custom"]);
    // "critical" text on a risk-10 event is low, not critical.
    expect(all.find((e) => e.severity === "critical")!.risk_score).toBe(10);
    const rows = await db().select().from(securityEvents).where(eq(securityEvents.organizationId, t.org.id));
    expect(rows.filter((r) => r.riskScore === 95).map((r) => r.severity).sort()).toEqual(["info", "weird-custom"]);
  });

  it.each(["severe", "HIGH", "info", ""])("severity=%j → 422 listing the bands", async (value) => {
    const res = await listEvents(t.admin.as, { severity: value });
    expect(res.status).toBe(422);
    expect(fieldsOf(res)).toEqual(["severity"]);
    expect(res.json.error.details[0].message).toContain("critical");
  });
});

describe("GET /api/v1/audit/security", () => {
  let t: Tenant;
  let userId: string;
  let stored: { id: string; timestamp: string }[];
  beforeAll(async () => {
    t = await createTenant();
    userId = crypto.randomUUID();
    stored = await seed(t, [
      { timestamp: "2026-01-03T00:00:00Z", description: "100% sure", metadata: { code: "a_b" }, event_type: "token_misuse", user_id: userId },
      { timestamp: "2026-01-01T00:00:00Z", description: "100 percent", metadata: { code: "axb" } },
      { timestamp: "2026-01-05T00:00:00Z", description: "plain", metadata: { note: "back\\slash", tags: ["needle-in-array"] } },
      { timestamp: "2026-01-02T00:00:00Z", description: "same time one", metadata: {} },
      { timestamp: "2026-01-02T00:00:00Z", description: "same time two", metadata: {} },
    ]);
  });

  const ids = (res: { json: any }) => res.json.items.map((e: { id: string }) => e.id);

  it("answers newest first (timestamp, then id), paged", async () => {
    const res = await listEvents(t.admin.as);
    expect(res.json).toMatchObject({ total: 5, page: 1, per_page: 50, pages: 1 });
    const sameTime = stored.slice(3).map((e) => e.id).sort().reverse();
    expect(ids(res)).toEqual([stored[2]!.id, stored[0]!.id, ...sameTime, stored[1]!.id]);

    const page2 = await listEvents(t.admin.as, { per_page: 2, page: 2 });
    expect(page2.json).toMatchObject({ total: 5, page: 2, per_page: 2, pages: 3 });
    expect(ids(page2)).toEqual(ids(res).slice(2, 4));
    expect(ids(await listEvents(t.admin.as, { per_page: 2, page: 3 }))).toEqual(ids(res).slice(4));
  });

  it("the alias /security-events answers the same", async () => {
    const params = { per_page: 3, search: "100" };
    const main = await listEvents(t.admin.as, params);
    const alias = await listEvents(t.admin.as, params, "/api/v1/audit/security-events");
    expect(alias.status).toBe(200);
    expect(alias.text).toBe(main.text);
  });

  it("filters by event type, user and date range (inclusive)", async () => {
    expect(ids(await listEvents(t.admin.as, { event_type: "token_misuse" }))).toEqual([stored[0]!.id]);
    expect(ids(await listEvents(t.admin.as, { user_id: userId }))).toEqual([stored[0]!.id]);
    const range = await listEvents(t.admin.as, { start_date: "2026-01-02T00:00:00Z", end_date: "2026-01-03T00:00:00Z" });
    expect(range.json.total).toBe(3);
    expect(ids(await listEvents(t.admin.as, { start_date: "2026-01-04" }))).toEqual([stored[2]!.id]);
    expect(ids(await listEvents(t.admin.as, { end_date: "2026-01-01" }))).toEqual([stored[1]!.id]);
  });

  it("searches description and metadata, with % and _ taken literally", async () => {
    expect(ids(await listEvents(t.admin.as, { search: "100%" }))).toEqual([stored[0]!.id]);
    expect(ids(await listEvents(t.admin.as, { search: "%" }))).toEqual([stored[0]!.id]);
    expect(ids(await listEvents(t.admin.as, { search: "a_b" }))).toEqual([stored[0]!.id]);
    expect((await listEvents(t.admin.as, { search: "100" })).json.total).toBe(2);
    expect(ids(await listEvents(t.admin.as, { search: "needle-in" }))).toEqual([stored[2]!.id]);
    expect(ids(await listEvents(t.admin.as, { search: "back\\slash" }))).toEqual([stored[2]!.id]);
    expect(ids(await listEvents(t.admin.as, { search: "CODE" })).sort()).toEqual([stored[0]!.id, stored[1]!.id].sort());
    // The JSON text's punctuation is not content.
    for (const punctuation of ['"', ":", "{", "\\\\"]) expect((await listEvents(t.admin.as, { search: punctuation })).json.total).toBe(0);
  });

  it.each([
    ["unknown event type", { event_type: "hacked" }, ["event_type"]],
    ["user_id not a uuid", { user_id: "bob" }, ["user_id"]],
    ["bad start_date", { start_date: "last week" }, ["start_date"]],
    ["start after end", { start_date: "2026-02-01", end_date: "2026-01-01" }, ["start_date"]],
    ["search over 128", { search: "s".repeat(129) }, ["search"]],
    ["page 0", { page: 0 }, ["page"]],
    ["page not a number", { page: "two" }, ["page"]],
    ["page beyond the last", { page: 2 }, ["page"]],
    ["per_page over 200", { per_page: 201 }, ["per_page"]],
    ["per_page 0", { per_page: 0 }, ["per_page"]],
    ["unknown parameter", { sort: "asc" }, ["sort"]],
  ])("%s → 422", async (_label, params, fields) => {
    const res = await listEvents(t.admin.as, params as Record<string, string | number>);
    expect(res.status).toBe(422);
    expect(fieldsOf(res)).toEqual(fields);
  });
});

describe("GET /api/v1/audit/summary/security", () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await createTenant();
    const now = Date.now();
    const ago = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
    await seed(t, [
      { event_type: "login_success", risk_score: 0, timestamp: ago(5) },
      { event_type: "login_success", risk_score: 0, timestamp: ago(6) },
      { event_type: "login_failed", risk_score: 20, timestamp: ago(7) },
      { event_type: "login_failed", risk_score: 20, timestamp: ago(8) },
      { event_type: "login_failed", risk_score: 20, timestamp: ago(9) },
      { event_type: "brute_force_detected", risk_score: 70, timestamp: ago(10) },
      { event_type: "suspicious_ip", risk_score: 55, timestamp: ago(1) },
      { event_type: "suspicious_ip", risk_score: 85, timestamp: ago(2) },
      { event_type: "suspicious_ip", risk_score: 49, timestamp: ago(3) },
      { event_type: "data_exfiltration_suspected", risk_score: 99, timestamp: ago(10 * 24 * 60) },
    ]);
  });

  it("counts the last 7 days by default", async () => {
    const res = await api("/api/v1/audit/summary/security", { as: t.admin.as });
    expect(res.status).toBe(200);
    const s = res.json;
    expect(s.organization_id).toBe(t.org.id);
    expect(Date.parse(s.end_date) - Date.parse(s.start_date)).toBe(7 * 86_400_000);
    expect(Date.now() - Date.parse(s.end_date)).toBeLessThan(60_000);
    expect(s.total).toBe(9);
    expect(s.logins).toEqual({ chainproof: { succeeded: 0, failed: 0 }, ingest: { succeeded: 2, failed: 3 } });
    expect(s.lockouts).toEqual({ chainproof: 0 });
    expect(s.by_source).toEqual({ chainproof: 0, ingest: 9 });
    expect(s.by_event_type).toMatchObject({ login_success: 2, login_failed: 3, brute_force_detected: 1, suspicious_ip: 3, data_exfiltration_suspected: 0, token_misuse: 0 });
    expect(Object.keys(s.by_event_type)).toHaveLength(13);
    expect(s.by_severity).toEqual({ low: 2, medium: 4, high: 2, critical: 1 });
    expect(s.high_risk_events.map((e: { risk_score: number }) => e.risk_score)).toEqual([55, 85, 70]);
  });

  it("takes start_date and end_date", async () => {
    const all = await api(`/api/v1/audit/summary/security?${query({ start_date: new Date(Date.now() - 30 * 86_400_000).toISOString() })}`, { as: t.admin.as });
    expect(all.json.total).toBe(10);
    expect(all.json.by_severity.critical).toBe(2);
    expect(all.json.high_risk_events[3].risk_score).toBe(99);
    const bad = await api(`/api/v1/audit/summary/security?${query({ start_date: "2026-02-01", end_date: "2026-01-01" })}`, { as: t.admin.as });
    expect(bad.status).toBe(422);
    expect((await api("/api/v1/audit/summary/security?start_date=soon", { as: t.admin.as })).status).toBe(422);
  });

  it("lists at most 100 high-risk events, newest first", async () => {
    const u = await createTenant();
    const base = Date.now() - 60 * 60_000;
    // Stored directly, ten rows per statement: D1 binds at most 100 parameters per statement.
    const rows = Array.from({ length: 105 }, (_, i) => ({
      id: crypto.randomUUID(),
      organizationId: u.org.id,
      eventType: "suspicious_ip",
      riskScore: 60,
      description: `n${i}`,
      timestamp: new Date(base + i * 1000).toISOString(),
    }));
    for (let i = 0; i < rows.length; i += 10) await db().insert(securityEvents).values(rows.slice(i, i + 10));
    const res = await api("/api/v1/audit/summary/security", { as: u.admin.as });
    expect(res.json.by_severity.high).toBe(105);
    expect(res.json.high_risk_events).toHaveLength(100);
    expect(res.json.high_risk_events[0].description).toBe("n104");
    expect(res.json.high_risk_events[99].description).toBe("n5");
  });
});

describe("who reads what", () => {
  const readPaths = ["/api/v1/audit/security", "/api/v1/audit/security-events", "/api/v1/audit/summary/security", "/api/v1/audit/alerts"];
  let inB: string;
  beforeAll(async () => {
    inB = (await seed(b, [{ description: "only in B", risk_score: 90 }]))[0]!.id;
    await seed(a, [{ description: "only in A", risk_score: 90 }]);
  });

  it.each(readPaths)("%s: member and ingest get 403, no credentials 401", async (path) => {
    for (const as of [a.member.as, a.ingest.as]) {
      const res = await api(path, { as });
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe("forbidden");
    }
    expect((await api(path, { as: null })).status).toBe(401);
  });

  it.each(readPaths)("%s: an org_admin sees only its own organization; naming another is a 404", async (path) => {
    for (const as of [a.admin.as, a.adminToken.as]) {
      const own = await api(path, { as });
      expect(own.status).toBe(200);
      const shown: { id: string; organization_id: string }[] = own.json.items ?? own.json.high_risk_events;
      expect(shown.length).toBeGreaterThan(0);
      expect(new Set(shown.map((e) => e.organization_id))).toEqual(new Set([a.org.id]));
      expect(own.text).not.toContain(inB);
      const foreign = await api(`${path}?${query({ organization_id: b.org.id })}`, { as });
      expect(foreign.status).toBe(404);
      expect(foreign.json).toEqual({ error: { code: "not_found", message: "Organization not found" } });
    }
    expect((await api(`${path}?${query({ organization_id: a.org.id })}`, { as: a.admin.as })).status).toBe(200);
  });

  it("super_admin reads every organization, or the one it names", async () => {
    const all = (await listEvents(sa, { search: "only in", per_page: 200 })).json.items.map((e: { organization_id: string }) => e.organization_id);
    expect(all).toEqual(expect.arrayContaining([a.org.id, b.org.id]));
    const narrowed = await listEvents(sa, { organization_id: b.org.id, per_page: 200 });
    expect(new Set(narrowed.json.items.map((e: { organization_id: string }) => e.organization_id))).toEqual(new Set([b.org.id]));
    expect(narrowed.json.items.map((e: { id: string }) => e.id)).toContain(inB);
    const summary = await api(`/api/v1/audit/summary/security?${query({ organization_id: b.org.id })}`, { as: sa });
    expect(summary.json.organization_id).toBe(b.org.id);
    expect(summary.json.high_risk_events.map((e: { id: string }) => e.id)).toContain(inB);
    expect((await listEvents(sa, { organization_id: crypto.randomUUID() })).status).toBe(404);
  });
});
