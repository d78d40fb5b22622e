import { env } from "cloudflare:workers";
import { count, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { alerts, securityEvents } from "../src/db/schema";
import { api, appendBatch, basic, chainRows, createTenant, createUser, type Credentials, db, getSuperAdmin, recordBody, type Tenant, validate } from "./helpers";
import { alertFor, eventBody, listAlerts, listEvents, postEvent } from "./security-helpers";

let a: Tenant;
let b: Tenant;
let sa: Credentials;

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(), createTenant()]);
  sa = (await getSuperAdmin()).as;
});

const alertRows = (eventId: string) => db().select().from(alerts).where(eq(alerts.securityEventId, eventId));

describe("alerts", () => {
  it("risk 69 raises none; risk 70 raises exactly one and marks the event alerted", async () => {
    const low = await postEvent(a.ingest.as, eventBody({ risk_score: 69 }));
    const high = await postEvent(a.ingest.as, eventBody({ risk_score: 70 }));
    expect(low.json.alerted).toBe(false);
    expect(high.json.alerted).toBe(true);
    expect(await alertRows(low.json.id)).toHaveLength(0);
    const [raised, ...more] = await alertRows(high.json.id);
    expect(more).toHaveLength(0);
    expect(raised).toMatchObject({ organizationId: a.org.id, securityEventId: high.json.id });
    const [stored] = await db().select().from(securityEvents).where(eq(securityEvents.id, high.json.id));
    expect(stored!.alerted).toBe(true);
    expect(await alertFor(a.admin.as, low.json.id)).toBeUndefined();
  });

  it("without a webhook the alert is not_configured, and listed with its event", async () => {
    const event = await postEvent(a.ingest.as, eventBody({ risk_score: 88, severity: "sev1" }));
    const alert = await alertFor(a.admin.as, event.json.id);
    expect(Object.keys(alert!).sort()).toEqual(
      [
        "attempts", "created_at", "deliveries", "delivered_at", "delivery_status", "id", "last_attempt_at", "last_error",
        "next_attempt_at", "organization_id", "security_event", "security_event_id",
      ].sort(),
    );
    expect(alert).toMatchObject({
      organization_id: a.org.id,
      security_event_id: event.json.id,
      delivery_status: "not_configured",
      attempts: 0,
      next_attempt_at: null,
      last_attempt_at: null,
      last_error: null,
      delivered_at: null,
      deliveries: [],
      security_event: event.json,
    });
  });

  it("the event and its alert are stored together or not at all", async () => {
    const t = await createTenant();
    // A trigger makes this organization's alert insert fail inside the batch.
    const trigger = `refuse_alerts_${t.org.id.replaceAll("-", "_")}`;
    await env.DB.exec(`CREATE TRIGGER ${trigger} BEFORE INSERT ON alerts WHEN NEW.organization_id = '${t.org.id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    try {
      const res = await postEvent(t.ingest.as, eventBody({ risk_score: 90 }));
      expect(res.status).toBe(503);
      expect(res.json).toEqual({ error: { code: "storage_unavailable", message: "Storage is unavailable; retry shortly" } });
      expect(res.text).not.toContain("refused by the test");
      const stored = await db().select({ n: count() }).from(securityEvents).where(eq(securityEvents.organizationId, t.org.id));
      expect(stored[0]!.n).toBe(0);
    } finally {
      await env.DB.exec(`DROP TRIGGER ${trigger}`);
    }
    expect((await postEvent(t.ingest.as, eventBody({ risk_score: 90 }))).status).toBe(201);
  });

  it("are listed newest first, paged, and only the caller's own", async () => {
    const t = await createTenant();
    const events = [];
    for (const risk_score of [70, 80, 90]) events.push((await postEvent(t.ingest.as, eventBody({ risk_score }))).json);
    const bEvent = (await postEvent(b.ingest.as, eventBody({ risk_score: 99 }))).json;

    const all = await listAlerts(t.admin.as);
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ total: 3, page: 1, per_page: 50, pages: 1 });
    expect(all.json.items.map((x: { security_event_id: string }) => x.security_event_id)).toEqual(events.map((e) => e.id).reverse());
    const second = await listAlerts(t.admin.as, { per_page: 2, page: 2 });
    expect(second.json).toMatchObject({ total: 3, pages: 2 });
    expect(second.json.items.map((x: { security_event_id: string }) => x.security_event_id)).toEqual([events[0].id]);
    expect((await listAlerts(t.admin.as, { page: 3, per_page: 2 })).status).toBe(422);
    expect((await listAlerts(t.admin.as, { per_page: 500 })).status).toBe(422);

    const asSuper = await listAlerts(sa, { organization_id: t.org.id });
    expect(asSuper.json.items.map((x: { id: string }) => x.id)).toEqual(all.json.items.map((x: { id: string }) => x.id));
    // b sees its one alert (risk 99) and nothing of t's.
    const own = await listAlerts(b.admin.as, { per_page: 200 });
    expect(own.status).toBe(200);
    expect(own.json.items.map((x: { organization_id: string; security_event_id: string }) => [x.organization_id, x.security_event_id])).toEqual([
      [b.org.id, bEvent.id],
    ]);
    expect((await listAlerts(b.admin.as, { organization_id: t.org.id })).status).toBe(404);
  });
});

describe("chainproof's own events go through the same path", () => {
  it("a lockout records its events and raises an alert", async () => {
    const t = await createTenant();
    const { user } = await createUser("member", t.org.id);
    const wrong = basic(user.username, "not the password at all");
    for (let i = 0; i < 9; i++) expect((await api("/api/v1/me", { as: wrong })).json.error.code).toBe("unauthorized");
    expect((await api("/api/v1/me", { as: wrong })).json.error.code).toBe("account_locked");

    const failed = await listEvents(t.admin.as, { event_type: "login_failed", user_id: user.id });
    expect(failed.json.total).toBe(10);
    const locked = await listEvents(t.admin.as, { event_type: "account_locked" });
    expect(locked.json.items).toHaveLength(1);
    expect(locked.json.items[0]).toMatchObject({ user_id: user.id, risk_score: 70, alerted: true, organization_id: t.org.id });
    const summary = await api("/api/v1/audit/summary/security", { as: t.admin.as });
    expect(summary.json).toMatchObject({ logins: { chainproof: { failed: 10 } }, lockouts: { chainproof: 1 } });
    expect(await alertFor(t.admin.as, locked.json.items[0].id)).toMatchObject({ delivery_status: "not_configured" });
  });

  it("a lockout of an unknown username raises no event of its own: its failures are one counted event of no organization", async () => {
    const username = `ghost-${crypto.randomUUID()}`;
    const ip = `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`;
    for (let i = 0; i < 10; i++) await api("/api/v1/me", { as: basic(username, "whatever it is"), headers: { "CF-Connecting-IP": ip } });
    // One event per IP and 15-minute window (two only if the loop crossed a window's end).
    const events = await db().select().from(securityEvents).where(eq(securityEvents.ipAddress, ip));
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeLessThanOrEqual(2);
    for (const event of events) {
      expect(event).toMatchObject({ eventType: "login_failed", organizationId: null, riskScore: 20, alerted: false });
      expect(event.metadata.unknown_usernames).toBe(true);
      expect(await alertRows(event.id)).toHaveLength(0);
    }
    expect(events.reduce((sum, e) => sum + Number(e.metadata.failures), 0)).toBe(10);
  });

  it("a cross-tenant attempt is an event for the platform's operators, which neither tenant can see", async () => {
    const res = await api(`/api/v1/organizations/${b.org.id}/users`, { as: a.admin.as });
    expect(res.status).toBe(404);
    const found = await listEvents(sa, { event_type: "cross_tenant_access_attempt", per_page: 200 });
    const event = found.json.items.find((e: { description: string }) => e.description.endsWith(`/api/v1/organizations/${b.org.id}/users`));
    expect(event).toMatchObject({ organization_id: null, user_id: a.admin.user.id, risk_score: 50, alerted: false });
    expect(event.metadata).toMatchObject({ caller_organization_id: a.org.id, target_organization_id: b.org.id });
    for (const tenant of [a, b]) {
      const seen = await listEvents(tenant.admin.as, { event_type: "cross_tenant_access_attempt", per_page: 200 });
      expect(seen.json.items.map((e: { id: string }) => e.id)).not.toContain(event.id);
    }
  });

  it("asking for another tenant's record, export, user or token by its id is a 404, recorded for the operators alone", async () => {
    const x = await createTenant();
    const [record] = (await appendBatch(x.ingest.as, [recordBody()])).json.records;
    const exportJob = await api("/api/v1/audit/exports", { method: "POST", as: x.admin.as, body: { format: "jsonl" } });
    expect(exportJob.status).toBe(202);
    const attempts = [
      ["GET", `/api/v1/audit/logs/${record.id}`, a.admin.as],
      ["GET", `/api/v1/audit/logs/${record.id}/proof`, a.member.as],
      ["GET", `/api/v1/audit/logs/user/${x.admin.user.id}`, a.admin.as],
      ["GET", `/api/v1/audit/exports/${exportJob.json.id}`, a.adminToken.as],
      ["PATCH", `/api/v1/organizations/${a.org.id}/users/${x.member.user.id}`, a.admin.as],
      ["DELETE", `/api/v1/organizations/${a.org.id}/users/${x.member.user.id}`, a.admin.as],
      ["DELETE", `/api/v1/organizations/${a.org.id}/tokens/${x.ingest.row.id}`, a.admin.as],
    ] as const;
    for (const [method, path, as] of attempts) {
      const res = await api(path, { method, as, ...(method === "PATCH" ? { body: { role: "org_admin" } } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const found = await listEvents(sa, { event_type: "cross_tenant_access_attempt", per_page: 200 });
    const byPath = new Set(attempts.map(([method, path]) => `Request for an object of another organization: ${method} ${path}`));
    const aimed = found.json.items.filter((e: { description: string }) => byPath.has(e.description));
    expect(aimed.map((e: { description: string }) => e.description).sort()).toEqual([...byPath].sort());
    for (const event of aimed) expect(event).toMatchObject({ organization_id: null, metadata: { caller_organization_id: a.org.id, target_organization_id: x.org.id } });
    // The caller's own organization sees nothing: an event there would tell an id that exists
    // elsewhere from one that exists nowhere, which is what the 404 hides.
    const seenByA = await listEvents(a.admin.as, { event_type: "cross_tenant_access_attempt", per_page: 200 });
    expect(seenByA.json.items.filter((e: { description: string }) => byPath.has(e.description))).toEqual([]);
    const unknown = await api(`/api/v1/audit/logs/${crypto.randomUUID()}`, { as: a.admin.as });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe((await api(`/api/v1/audit/logs/${record.id}`, { as: a.admin.as })).text);
    // Nothing changed in the other tenant, and a super_admin's lookups are no attempts.
    const users = (await api(`/api/v1/organizations/${x.org.id}/users`, { as: x.admin.as })).json.items;
    expect(users.find((u: { id: string }) => u.id === x.member.user.id)).toMatchObject({ role: "member" });
    const tokens = (await api(`/api/v1/organizations/${x.org.id}/tokens`, { as: x.admin.as })).json.items;
    expect(tokens.find((t: { id: string }) => t.id === x.ingest.row.id)).toMatchObject({ revoked_at: null });
    expect((await api(`/api/v1/audit/logs/${record.id}`, { as: sa })).status).toBe(200);
    const seenByX = await listEvents(x.admin.as, { event_type: "cross_tenant_access_attempt", per_page: 200 });
    expect(seenByX.json.items).toHaveLength(0);
  });

  it("a chain break found by validation is a chain_integrity_failure (risk 100) with an alert", async () => {
    const t = await createTenant();
    expect((await appendBatch(t.ingest.as, [recordBody(), recordBody(), recordBody()])).status).toBe(201);
    const rows = await chainRows(t.org.id);
    await env.DB.prepare("UPDATE audit_logs SET status = 'failure' WHERE id = ?").bind(rows[1]!.id).run();
    expect((await validate({ organization_id: t.org.id })).json).toMatchObject({ valid: false, broken_at: rows[1]!.id });

    const found = await listEvents(t.admin.as, { event_type: "chain_integrity_failure" });
    expect(found.json.items).toHaveLength(1);
    const event = found.json.items[0];
    expect(event).toMatchObject({ organization_id: t.org.id, risk_score: 100, severity: "critical", alerted: true });
    expect((await listEvents(t.admin.as, { severity: "critical" })).json.items.map((e: { id: string }) => e.id)).toEqual([event.id]);
    const alert = await alertFor(t.admin.as, event.id);
    expect(alert).toMatchObject({ organization_id: t.org.id, security_event_id: event.id, delivery_status: "not_configured" });
  });
});
