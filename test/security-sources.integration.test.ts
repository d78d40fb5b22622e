// Issue 9 item 6: who recorded a security event. Clients cannot post what only chainproof can
// observe, and the summary's logins and lockouts say whose they are.
import { env } from "cloudflare:workers";
import { and, count, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { securityEvents } from "../src/db/schema";
import { api, appendBatch, basic, chainRows, createTenant, createUser, type Credentials, db, getSuperAdmin, recordBody, type Tenant, validate } from "./helpers";
import { signIn } from "./dashboard-helpers";
import { eventBody, listEvents, postEvent } from "./security-helpers";

let sa: Credentials;
beforeAll(async () => {
  sa = (await getSuperAdmin()).as;
});

const CHAINPROOF_ONLY = ["account_locked", "cross_tenant_access_attempt", "chain_integrity_failure"] as const;

const storedOfType = async (orgId: string, eventType: string) =>
  (await db().select({ n: count() }).from(securityEvents).where(and(eq(securityEvents.organizationId, orgId), eq(securityEvents.eventType, eventType))))[0]!.n;

const summary = async (as: Credentials) => (await api("/api/v1/audit/summary/security", { as })).json;

/** Ten wrong passwords for a fresh member: chainproof records 10 login_failed and 1 account_locked. */
async function lockOut(t: Tenant) {
  const { user } = await createUser("member", t.org.id);
  const wrong = basic(user.username, "not the password at all");
  for (let i = 0; i < 10; i++) await api("/api/v1/me", { as: wrong });
  return user;
}

describe("chainproof-only event types", () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  for (const eventType of CHAINPROOF_ONLY) {
    it(`${eventType} posted by ingest, an org_admin token or a super_admin → 422 on event_type, nothing stored`, async () => {
      for (const [as, extra] of [
        [t.ingest.as, {}],
        [t.adminToken.as, {}],
        [t.admin.as, {}],
        [sa, { organization_id: t.org.id }],
      ] as const) {
        const res = await postEvent(as, eventBody({ event_type: eventType, risk_score: 100, ...extra }));
        expect(res.status).toBe(422);
        expect(res.json.error).toEqual({
          code: "validation_error",
          message: "Invalid event_type",
          details: [{ field: "event_type", message: "is recorded by chainproof itself and cannot be posted" }],
        });
      }
      expect(await storedOfType(t.org.id, eventType)).toBe(0);
    });
  }

  it("the OpenAPI input schema lists only the types a client may post", async () => {
    const doc = (await api("/api/v1/openapi.json")).json;
    const input = doc.components.schemas.SecurityEventInput.properties.event_type;
    expect(input.enum).toHaveLength(10);
    for (const eventType of CHAINPROOF_ONLY) expect(input.enum).not.toContain(eventType);
    expect(input.enum).toEqual(expect.arrayContaining(["login_success", "login_failed", "suspicious_ip"]));
    expect(doc.components.schemas.SecurityEvent.properties.source).toMatchObject({ type: "string", enum: ["chainproof", "ingest"] });
    expect(doc.components.schemas.SecurityEvent.required).toContain("source");
  });
});

describe("source", () => {
  it("a posted event is `ingest` in its answer, the list and the row", async () => {
    const t = await createTenant();
    const posted = await postEvent(t.ingest.as, eventBody({ event_type: "login_failed", risk_score: 20 }));
    expect(posted.status).toBe(201);
    expect(posted.json.source).toBe("ingest");
    const listed = await listEvents(t.admin.as);
    expect(listed.json.items.map((e: { id: string; source: string }) => [e.id, e.source])).toEqual([[posted.json.id, "ingest"]]);
    const [row] = await db().select().from(securityEvents).where(eq(securityEvents.id, posted.json.id));
    expect(row!.source).toBe("ingest");
  });

  it("chainproof's own events (failed logins, lockout, cross-tenant attempt, chain break) are `chainproof`", async () => {
    const t = await createTenant();
    const other = await createTenant();
    await lockOut(t);
    expect((await api(`/api/v1/organizations/${other.org.id}/users`, { as: t.admin.as })).status).toBe(404);
    expect((await appendBatch(t.ingest.as, [recordBody(), recordBody()])).status).toBe(201);
    const [first] = await chainRows(t.org.id);
    await env.DB.prepare("UPDATE audit_logs SET status = 'failure' WHERE id = ?").bind(first!.id).run();
    expect((await validate({ organization_id: t.org.id })).json.valid).toBe(false);
    await postEvent(t.ingest.as, eventBody({ event_type: "login_failed", risk_score: 20 }));

    const own = await listEvents(t.admin.as, { source: "chainproof", per_page: 100 });
    const types = own.json.items.map((e: { event_type: string }) => e.event_type).sort();
    expect(types).toEqual([...Array(10).fill("login_failed"), "account_locked", "chain_integrity_failure"].sort());
    expect(new Set(own.json.items.map((e: { source: string }) => e.source))).toEqual(new Set(["chainproof"]));
    // The cross-tenant attempt is the operators' alone (no organization).
    const attempts = await listEvents(sa, { event_type: "cross_tenant_access_attempt", source: "chainproof", per_page: 200 });
    expect(attempts.json.items.filter((e: { metadata: { caller_organization_id?: string } }) => e.metadata.caller_organization_id === t.org.id)).toHaveLength(1);
    const reported = await listEvents(t.admin.as, { source: "ingest" });
    expect(reported.json.items.map((e: { event_type: string; source: string }) => [e.event_type, e.source])).toEqual([["login_failed", "ingest"]]);
  });

  it("an unknown source filter is a 422 on source", async () => {
    const t = await createTenant();
    const res = await listEvents(t.admin.as, { source: "platform" });
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: { field: string }) => d.field)).toEqual(["source"]);
  });
});

describe("the security summary counts logins and lockouts by source", () => {
  it("a sign-in to the dashboard is chainproof's login_success, counted as succeeded; API calls with Basic credentials are not sign-ins", async () => {
    const t = await createTenant();
    await signIn(t.admin.user.username);
    expect((await api("/api/v1/me", { as: t.admin.as })).status).toBe(200);
    const s = await summary(t.admin.as);
    expect(s.logins).toEqual({ chainproof: { succeeded: 1, failed: 0 }, ingest: { succeeded: 0, failed: 0 } });
    const events = await listEvents(t.admin.as, { event_type: "login_success" });
    expect(events.json.items).toHaveLength(1);
    expect(events.json.items[0]).toMatchObject({
      organization_id: t.org.id,
      user_id: t.admin.user.id,
      source: "chainproof",
      risk_score: 0,
      severity: "info",
      alerted: false,
      metadata: { username: t.admin.user.username, via: "dashboard" },
    });
  });

  it("a client's posts do not move chainproof's lockouts or logins", async () => {
    const t = await createTenant();
    await lockOut(t);
    const before = await summary(t.admin.as);
    expect(before.lockouts).toEqual({ chainproof: 1 });
    expect(before.logins).toEqual({ chainproof: { succeeded: 0, failed: 10 }, ingest: { succeeded: 0, failed: 0 } });
    expect(before.by_source).toEqual({ chainproof: 11, ingest: 0 });

    for (let i = 0; i < 5; i++) await postEvent(t.ingest.as, eventBody({ event_type: "account_locked", risk_score: 70 }));
    for (const eventType of ["login_success", "login_success", "login_failed"]) {
      expect((await postEvent(t.ingest.as, eventBody({ event_type: eventType, risk_score: 0 }))).status).toBe(201);
    }

    const after = await summary(t.admin.as);
    expect(after.lockouts).toEqual({ chainproof: 1 });
    expect(after.logins).toEqual({ chainproof: { succeeded: 0, failed: 10 }, ingest: { succeeded: 2, failed: 1 } });
    expect(after.by_source).toEqual({ chainproof: 11, ingest: 3 });
    expect(after.total).toBe(14);
    expect(after.by_event_type).toMatchObject({ login_success: 2, login_failed: 11, account_locked: 1 });
  });
});
