// Deliveries go to a real HTTP server (test/setup/webhook-receiver.ts) over the network. Every
// test that delivers lives in this file, so the cron runs below (which deliver whatever is due, at
// a chosen time) never race another file's deliveries. Configuring: webhook-config.integration.test.ts.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { alertDeliveries, alerts } from "../src/db/schema";
import { database } from "../src/db/client";
import { recordSecurityEvent } from "../src/security/record";
import { api, createTenant, type Credentials, db, hmacHex } from "./helpers";
import { type AlertItem, alertFor, eventBody, eventually, listAlerts, postEvent, putWebhook, receiver, received, runCron } from "./security-helpers";

const hookPath = (orgId: string) => `/api/v1/organizations/${orgId}/webhook`;
const MINUTE = 60_000;

/** Checks a received delivery the way a receiver would: the signature and the freshness of t. */
async function verifySignature(request: { headers: Record<string, unknown>; body: string }, secret: string) {
  const header = String(request.headers["x-chainproof-signature"]);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  expect(match, header).not.toBeNull();
  const t = Number(match![1]);
  expect(Math.abs(Date.now() / 1000 - t)).toBeLessThan(60);
  expect(match![2]).toBe(await hmacHex(secret, `${t}.${request.body}`));
}

/** Waits until the alert of `eventId` has made `attempts` attempts (the first one runs in waitUntil). */
const afterAttempts = (as: Credentials, eventId: string, attempts: number) =>
  eventually(async () => {
    const alert = await alertFor(as, eventId);
    return alert && alert.attempts === attempts && alert.deliveries.length === attempts && alert;
  }, `${attempts} attempt(s) for event ${eventId}`);

describe("delivery", () => {
  it("POSTs the signed alert to the receiver right after the event is stored, once", async () => {
    const t = await createTenant();
    const path = `/ok/${t.org.id}`;
    const { secret } = (await putWebhook(t.admin.as, t.org.id, `${receiver()}${path}`)).json;
    await postEvent(t.ingest.as, eventBody({ risk_score: 69 }));
    const event = (await postEvent(t.ingest.as, eventBody({ risk_score: 85, user_id: crypto.randomUUID() }))).json;

    const alert = await afterAttempts(t.admin.as, event.id, 1);
    expect(alert).toMatchObject({ delivery_status: "delivered", next_attempt_at: null, last_error: null });
    expect(alert.delivered_at).toBe(alert.last_attempt_at);
    expect(alert.deliveries).toEqual([
      { attempted_at: alert.last_attempt_at, url: `${receiver()}${path}`, status_code: 200, error: null, duration_ms: expect.any(Number) },
    ]);

    const [request, ...more] = await received(path);
    expect(more).toHaveLength(0);
    expect(request!.method).toBe("POST");
    expect(request!.headers["content-type"]).toBe("application/json");
    await verifySignature(request!, secret);
    expect(JSON.parse(request!.body)).toEqual({ type: "security.alert", alert_id: alert.id, organization_id: t.org.id, security_event: event });

    // Delivered is final: a later cron run sends nothing more.
    await runCron(Date.now() + 60 * MINUTE);
    expect(await received(path)).toHaveLength(1);
    expect((await alertFor(t.admin.as, event.id))!.attempts).toBe(1);
    await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as });
  });

  it("retries a failing receiver from the cron with exponential backoff, then gives up after 8 attempts", async () => {
    const t = await createTenant();
    const path = `/fail/${t.org.id}`;
    const { secret } = (await putWebhook(t.admin.as, t.org.id, `${receiver()}${path}`)).json;
    const event = (await postEvent(t.ingest.as, eventBody({ risk_score: 90 }))).json;
    let alert: AlertItem = await afterAttempts(t.admin.as, event.id, 1);

    // Not yet due: nothing happens.
    await runCron(Date.parse(alert.next_attempt_at!) - 1000);
    expect((await alertFor(t.admin.as, event.id))!.attempts).toBe(1);

    for (let attempt = 1; attempt <= 8; attempt++) {
      expect(alert).toMatchObject({ attempts: attempt, last_error: "status 500", delivered_at: null });
      expect(alert.deliveries).toHaveLength(attempt);
      expect(alert.deliveries[attempt - 1]).toMatchObject({ status_code: 500, error: "status 500", url: `${receiver()}${path}` });
      if (attempt === 8) break;
      expect(alert.delivery_status).toBe("pending");
      expect(Date.parse(alert.next_attempt_at!) - Date.parse(alert.last_attempt_at!)).toBe(2 ** (attempt - 1) * MINUTE);
      await runCron(Date.parse(alert.next_attempt_at!) + 1000);
      alert = (await alertFor(t.admin.as, event.id))!;
    }
    expect(alert).toMatchObject({ delivery_status: "failed", attempts: 8, next_attempt_at: null });

    const requests = await received(path);
    expect(requests).toHaveLength(8);
    for (const request of requests) {
      await verifySignature(request, secret);
      expect(JSON.parse(request.body).alert_id).toBe(alert.id);
    }
    await runCron(Date.parse(alert.last_attempt_at!) + 24 * 60 * MINUTE);
    expect(await received(path)).toHaveLength(8);
    expect(JSON.stringify((await api("/api/v1/audit/alerts?per_page=200", { as: t.admin.as })).json)).not.toContain(secret);
    await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as });
  });

  it("a retry goes to the webhook as configured now, signed with its new secret", async () => {
    const t = await createTenant();
    const first = (await putWebhook(t.admin.as, t.org.id, `${receiver()}/fail/${t.org.id}`)).json;
    const event = (await postEvent(t.ingest.as, eventBody({ risk_score: 75 }))).json;
    const failed = await afterAttempts(t.admin.as, event.id, 1);
    const fixed = (await putWebhook(t.admin.as, t.org.id, `${receiver()}/ok/${t.org.id}`)).json;

    await runCron(Date.parse(failed.next_attempt_at!) + 1000);
    const alert = (await alertFor(t.admin.as, event.id))!;
    expect(alert).toMatchObject({ delivery_status: "delivered", attempts: 2, last_error: null });
    expect(alert.deliveries.map((d) => [d.url, d.status_code])).toEqual([
      [first.url, 500],
      [fixed.url, 200],
    ]);
    const [request] = await received(`/ok/${t.org.id}`);
    await verifySignature(request!, fixed.secret);
    await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as });
  });

  it("a receiver that cannot be reached is a failed attempt of class `connection`, and no status code", async () => {
    const t = await createTenant();
    const { secret } = (await putWebhook(t.admin.as, t.org.id, "http://127.0.0.1:1/unreachable")).json;
    const event = (await postEvent(t.ingest.as, eventBody({ risk_score: 80 }))).json;
    const alert = await afterAttempts(t.admin.as, event.id, 1);
    expect(alert.delivery_status).toBe("pending");
    expect(alert.deliveries[0]).toMatchObject({ status_code: null, url: "http://127.0.0.1:1/unreachable", error: "connection" });
    expect(alert.last_error).toBe("connection");
    expect(JSON.stringify(alert)).not.toContain(secret);
    await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as });
  });

  it("an event raised outside a request is delivered by the cron", async () => {
    const t = await createTenant();
    const path = `/ok/${t.org.id}`;
    const { secret } = (await putWebhook(t.admin.as, t.org.id, `${receiver()}${path}`)).json;
    // No waitUntil: as from a cron job or a Durable Object that does not pass one.
    const event = await recordSecurityEvent({ db: database(env.DB), env }, {
      organizationId: t.org.id,
      eventType: "brute_force_detected",
      riskScore: 95,
      description: "raised outside a request",
    });
    const pending = await alertFor(t.admin.as, event.id);
    expect(pending).toMatchObject({ delivery_status: "pending", attempts: 0 });
    expect(await received(path)).toHaveLength(0);

    await runCron(Date.now());
    expect(await alertFor(t.admin.as, event.id)).toMatchObject({ delivery_status: "delivered", attempts: 1 });
    const [request] = await received(path);
    await verifySignature(request!, secret);
    expect(JSON.parse(request!.body).security_event).toMatchObject({ id: event.id, event_type: "brute_force_detected", risk_score: 95 });
    await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as });
  });

  it("a webhook removed while an alert waits for its retry leaves it not_configured", async () => {
    const t = await createTenant();
    await putWebhook(t.admin.as, t.org.id, `${receiver()}/fail/${t.org.id}`);
    const event = (await postEvent(t.ingest.as, eventBody({ risk_score: 70 }))).json;
    const alert = await afterAttempts(t.admin.as, event.id, 1);
    expect((await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as })).status).toBe(204);
    await runCron(Date.parse(alert.next_attempt_at!) + 1000);
    expect(await alertFor(t.admin.as, event.id)).toMatchObject({ delivery_status: "not_configured", attempts: 1, next_attempt_at: null });
    expect(await received(`/fail/${t.org.id}`)).toHaveLength(1);
  });

  it("stores no secret in alerts or deliveries", async () => {
    const t = await createTenant();
    const { secret } = (await putWebhook(t.admin.as, t.org.id, `${receiver()}/ok/${t.org.id}`)).json;
    const event = (await postEvent(t.ingest.as, eventBody({ risk_score: 99 }))).json;
    const alert = await afterAttempts(t.admin.as, event.id, 1);
    const rows = [
      ...(await db().select().from(alerts).where(eq(alerts.id, alert.id))),
      ...(await db().select().from(alertDeliveries).where(eq(alertDeliveries.alertId, alert.id))),
    ];
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toContain(secret);
    await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as });
  });
});

describe("fair delivery across organizations", () => {
  /** `n` due alerts of one organization, oldest first from `dueAt`, stored as a backlog would be. */
  async function backlog(orgId: string, n: number, dueAt: number) {
    const items = Array.from({ length: n }, (_, i) => ({ event: crypto.randomUUID(), alert: crypto.randomUUID(), at: new Date(dueAt + i).toISOString() }));
    const json = JSON.stringify(items);
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO security_events (id, organization_id, event_type, severity, risk_score, metadata, timestamp, alerted, source)
         SELECT value ->> 'event', ?, 'brute_force_detected', 'high', 90, '{}', value ->> 'at', 1, 'ingest' FROM json_each(?)`,
      ).bind(orgId, json),
      env.DB.prepare(
        `INSERT INTO alerts (id, organization_id, security_event_id, created_at, delivery_status, attempts, next_attempt_at)
         SELECT value ->> 'alert', ?, value ->> 'event', value ->> 'at', 'pending', 0, value ->> 'at' FROM json_each(?)`,
      ).bind(orgId, json),
    ]);
  }

  /** One fresh alert of `t`, due now (raised outside a request: only the cron delivers it). */
  const dueNow = (orgId: string) =>
    recordSecurityEvent({ db: database(env.DB), env }, { organizationId: orgId, eventType: "brute_force_detected", riskScore: 90, description: "b" });

  /** Every alert of the organization that has been attempted, as its admin sees them. */
  async function attempted(as: Credentials) {
    const pages = await Promise.all([1, 2].map((page) => listAlerts(as, { per_page: 200, page })));
    return pages.flatMap((p) => p.json.items as AlertItem[]).filter((a) => a.attempts > 0);
  }

  /** Takes the backlog out of later cron runs. */
  const giveUp = (orgId: string) => env.DB.prepare("UPDATE alerts SET delivery_status = 'failed', next_attempt_at = NULL WHERE organization_id = ?").bind(orgId).run();

  it("a backlog of 300 failing alerts gets 10 attempts in a run; another organization's one alert is delivered", async () => {
    const [a, b] = await Promise.all([createTenant(), createTenant()]);
    try {
      await putWebhook(a.admin.as, a.org.id, `${receiver()}/fail/${a.org.id}`);
      await putWebhook(b.admin.as, b.org.id, `${receiver()}/ok/${b.org.id}`);
      await backlog(a.org.id, 300, Date.now() - 60 * MINUTE);
      const event = await dueNow(b.org.id);

      await runCron(Date.now());
      expect(await alertFor(b.admin.as, event.id)).toMatchObject({ delivery_status: "delivered", attempts: 1 });
      expect(await received(`/ok/${b.org.id}`)).toHaveLength(1);
      const tried = await attempted(a.admin.as);
      expect(tried).toHaveLength(10);
      for (const alert of tried) expect(alert).toMatchObject({ attempts: 1, delivery_status: "pending", last_error: "status 500" });
      expect(await received(`/fail/${a.org.id}`)).toHaveLength(10);
    } finally {
      await giveUp(a.org.id);
    }
  });

  it("a receiver that hangs costs its organization one timeout per run, and nobody else anything", { timeout: 60_000 }, async () => {
    const [a, b] = await Promise.all([createTenant(), createTenant()]);
    try {
      await putWebhook(a.admin.as, a.org.id, `${receiver()}/hang/${a.org.id}`);
      await putWebhook(b.admin.as, b.org.id, `${receiver()}/ok/${b.org.id}`);
      await backlog(a.org.id, 300, Date.now() - 60 * MINUTE);
      const event = await dueNow(b.org.id);

      await runCron(Date.now());
      expect(await alertFor(b.admin.as, event.id)).toMatchObject({ delivery_status: "delivered", attempts: 1 });
      const tried = await attempted(a.admin.as);
      expect(tried).toHaveLength(1);
      expect(tried[0]).toMatchObject({ attempts: 1, delivery_status: "pending", last_error: "timeout" });
      expect(tried[0]!.deliveries).toEqual([expect.objectContaining({ status_code: null, error: "timeout" })]);
      expect(await received(`/hang/${a.org.id}`)).toHaveLength(1);
    } finally {
      await giveUp(a.org.id);
    }
  });
});
