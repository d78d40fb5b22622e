// Deliveries go to a real HTTP server (test/setup/webhook-receiver.ts) over the network. Every
// test that configures a webhook lives in this file, so the cron runs below (which deliver
// whatever is due, at a chosen time) never race another file's deliveries.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { alertDeliveries, alerts, webhooks } from "../src/db/schema";
import { database } from "../src/db/client";
import { recordSecurityEvent } from "../src/security/record";
import { openWebhookSecret } from "../src/security/webhooks";
import { api, chainRows, createTenant, type Credentials, db, getSuperAdmin } from "./helpers";
import { type AlertItem, alertFor, eventBody, eventually, postEvent, putWebhook, receiver, received, runCron } from "./security-helpers";

type Tenant = Awaited<ReturnType<typeof createTenant>>;
let sa: Credentials;
beforeAll(async () => {
  sa = (await getSuperAdmin()).as;
});

const hookPath = (orgId: string) => `/api/v1/organizations/${orgId}/webhook`;
const MINUTE = 60_000;

async function hmacHex(secret: string, message: string) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
  return [...mac].map((x) => x.toString(16).padStart(2, "0")).join("");
}

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

describe("configuring the webhook", () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("PUT answers the secret once; it is stored only encrypted; GET never shows it", async () => {
    const url = `${receiver()}/ok/${t.org.id}`;
    const res = await putWebhook(t.admin.as, t.org.id, url);
    expect(res.status).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(["created_at", "secret", "url"]);
    expect(res.json.url).toBe(url);
    const secret: string = res.json.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const [row] = await db().select().from(webhooks).where(eq(webhooks.organizationId, t.org.id));
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    expect(await openWebhookSecret(env.SECRET_KEY, t.org.id, row!.secretCiphertext)).toBe(secret);

    const got = await api(hookPath(t.org.id), { as: t.admin.as });
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ url, created_at: res.json.created_at, updated_at: res.json.created_at });
  });

  it("is self-audited as a config_change of a setting, without the secret", async () => {
    const first = await putWebhook(t.adminToken.as, t.org.id, `${receiver()}/ok/${t.org.id}/v2`);
    const again = await putWebhook(t.admin.as, t.org.id, `${receiver()}/ok/${t.org.id}/v3`);
    expect(again.json.secret).not.toBe(first.json.secret);
    const got = await api(hookPath(t.org.id), { as: t.admin.as });
    expect(got.json.created_at).toBe(first.json.created_at);
    expect(got.json.updated_at >= got.json.created_at).toBe(true);
    expect((await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as })).status).toBe(204);

    const audit = (await chainRows(t.org.id)).filter((r) => r.action === "config_change" && r.resource_type === "setting");
    expect(audit.map((r) => [JSON.parse(r.previous_state ?? "null"), JSON.parse(r.new_state ?? "null")])).toEqual([
      [null, { webhook_url: `${receiver()}/ok/${t.org.id}` }],
      [{ webhook_url: `${receiver()}/ok/${t.org.id}` }, { webhook_url: `${receiver()}/ok/${t.org.id}/v2` }],
      [{ webhook_url: `${receiver()}/ok/${t.org.id}/v2` }, { webhook_url: `${receiver()}/ok/${t.org.id}/v3` }],
      [{ webhook_url: `${receiver()}/ok/${t.org.id}/v3` }, null],
    ]);
    const text = JSON.stringify(await chainRows(t.org.id));
    for (const secret of [first.json.secret, again.json.secret]) expect(text).not.toContain(secret);

    expect((await api(hookPath(t.org.id), { as: t.admin.as })).status).toBe(404);
    expect((await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as })).status).toBe(404);
  });

  it.each([
    ["not a URL", "hooks example"],
    ["another scheme", "ftp://hooks.example.com/x"],
    ["a private address", "https://10.0.0.8/hook"],
    ["a 172.16/12 address", "http://172.20.1.1/hook"],
    ["a 192.168/16 address", "https://192.168.1.10/hook"],
    ["link-local (metadata service)", "http://169.254.169.254/latest"],
    ["unique-local IPv6", "https://[fd00::1]/hook"],
    ["link-local IPv6", "https://[fe80::1]/hook"],
    ["0.0.0.0", "http://0.0.0.0/hook"],
    ["credentials in the URL", "https://user:pw@hooks.example.com/x"],
    ["an empty URL", ""],
  ])("refuses %s with a 422 on url, changing nothing", async (_label, url) => {
    const res = await putWebhook(t.admin.as, t.org.id, url);
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: { field: string }) => d.field)).toEqual(["url"]);
    expect((await api(hookPath(t.org.id), { as: t.admin.as })).status).toBe(404);
  });

  it("with ALLOW_INSECURE_WEBHOOKS (set for the tests) http and loopback are accepted", async () => {
    expect(env.ALLOW_INSECURE_WEBHOOKS).toBe("true");
    const u = await createTenant();
    for (const url of ["http://localhost:9/x", "http://[::1]:9/x", "https://hooks.example.com/chainproof"]) {
      expect((await putWebhook(u.admin.as, u.org.id, url)).status).toBe(201);
    }
    expect((await api(hookPath(u.org.id), { method: "DELETE", as: u.admin.as })).status).toBe(204);
  });

  it("org_admin and super_admin only; another organization's is a 404 and stays untouched", async () => {
    const u = await createTenant();
    const other = await createTenant();
    const url = `${receiver()}/ok/${u.org.id}`;
    for (const as of [u.member.as, u.ingest.as]) {
      expect((await putWebhook(as, u.org.id, url)).status).toBe(403);
      expect((await api(hookPath(u.org.id), { as })).status).toBe(403);
      expect((await api(hookPath(u.org.id), { method: "DELETE", as })).status).toBe(403);
    }
    const configured = await putWebhook(sa, u.org.id, url);
    expect(configured.status).toBe(201);
    for (const as of [other.admin.as, other.adminToken.as, other.ingest.as, other.member.as]) {
      for (const res of [
        await putWebhook(as, u.org.id, `${receiver()}/ok/hijack`),
        await api(hookPath(u.org.id), { as }),
        await api(hookPath(u.org.id), { method: "DELETE", as }),
      ]) {
        expect(res.status).toBe(404);
        expect(res.json).toEqual({ error: { code: "not_found", message: "Organization not found" } });
      }
    }
    expect((await api(hookPath(u.org.id), { as: sa })).json.url).toBe(url);
    expect((await api(hookPath(crypto.randomUUID()), { as: sa })).status).toBe(404);
    await api(hookPath(u.org.id), { method: "DELETE", as: sa });
  });
});

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
      expect(alert).toMatchObject({ attempts: attempt, last_error: "HTTP 500", delivered_at: null });
      expect(alert.deliveries).toHaveLength(attempt);
      expect(alert.deliveries[attempt - 1]).toMatchObject({ status_code: 500, error: "HTTP 500", url: `${receiver()}${path}` });
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

  it("a receiver that cannot be reached is a failed attempt with the error, and no status code", async () => {
    const t = await createTenant();
    const { secret } = (await putWebhook(t.admin.as, t.org.id, "http://127.0.0.1:1/unreachable")).json;
    const event = (await postEvent(t.ingest.as, eventBody({ risk_score: 80 }))).json;
    const alert = await afterAttempts(t.admin.as, event.id, 1);
    expect(alert.delivery_status).toBe("pending");
    expect(alert.deliveries[0]).toMatchObject({ status_code: null, url: "http://127.0.0.1:1/unreachable" });
    expect(alert.deliveries[0]!.error).toBeTruthy();
    expect(alert.last_error).toBe(alert.deliveries[0]!.error);
    expect(alert.last_error).not.toContain(secret);
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
