// POST /api/v1/audit/security-events with an Idempotency-Key: a platform retrying a post must not
// store (and alert) the same event twice, as with appends (README, "Security events").
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, createTenant, type Credentials } from "./helpers";
import { eventBody, listAlerts, listEvents, runCron } from "./security-helpers";

const post = (as: Credentials, body: unknown, key: string) =>
  api("/api/v1/audit/security-events", { method: "POST", as, body, headers: { "Idempotency-Key": key } });

const keyRows = async (orgId: string) =>
  (await env.DB.prepare("SELECT key, event_id, expires_at FROM security_event_keys WHERE organization_id = ? ORDER BY key").bind(orgId).all()).results;

describe("Idempotency-Key on security events", () => {
  it("a retry answers the first event byte for byte, marked as a replay, and stores one event and one alert", async () => {
    const t = await createTenant();
    const body = eventBody({ event_type: "suspicious_ip", risk_score: 75, description: "retried post" });
    const first = await post(t.ingest.as, body, "evt-1");
    expect(first.status).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();
    const again = await post(t.ingest.as, body, "evt-1");
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.text).toBe(first.text);
    const stored = await listEvents(t.admin.as, { search: "retried post" });
    expect(stored.json.items.map((e: { id: string }) => e.id)).toEqual([first.json.id]);
    const alerts = await listAlerts(t.admin.as);
    expect(alerts.json.items.filter((a: { security_event_id: string }) => a.security_event_id === first.json.id)).toHaveLength(1);
    expect(alerts.json.items).toHaveLength(1);
  });

  it("the key sent with another body is a 422 on Idempotency-Key and stores nothing; another key stores another event", async () => {
    const t = await createTenant();
    expect((await post(t.ingest.as, eventBody({ description: "one" }), "evt-2")).status).toBe(201);
    const reused = await post(t.ingest.as, eventBody({ description: "two" }), "evt-2");
    expect(reused.status).toBe(422);
    expect(reused.json.error.code).toBe("idempotency_key_reused");
    expect(reused.json.error.details.map((d: { field: string }) => d.field)).toEqual(["Idempotency-Key"]);
    expect((await post(t.ingest.as, eventBody({ description: "two" }), "evt-3")).status).toBe(201);
    const all = await listEvents(t.admin.as);
    expect(all.json.items.map((e: { description: string }) => e.description).sort()).toEqual(["one", "two"]);
  });

  it("ten identical posts at once store one event, and every answer is that event", async () => {
    const t = await createTenant();
    const body = eventBody({ event_type: "token_misuse", risk_score: 90, description: "raced" });
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(t.ingest.as, body, "evt-race")));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get("Idempotent-Replayed") === null)).toHaveLength(1);
    expect((await listEvents(t.admin.as, { search: "raced" })).json.items).toHaveLength(1);
    expect((await listAlerts(t.admin.as)).json.items).toHaveLength(1);
  });

  it("a key is one organization's: another organization's same key stores its own event", async () => {
    const [a, b] = await Promise.all([createTenant(), createTenant()]);
    const body = eventBody({ description: "same key" });
    const fromA = await post(a.ingest.as, body, "shared-key");
    const fromB = await post(b.ingest.as, body, "shared-key");
    expect([fromA.status, fromB.status]).toEqual([201, 201]);
    expect(fromB.headers.get("Idempotent-Replayed")).toBeNull();
    expect(fromB.json.id).not.toBe(fromA.json.id);
    expect(fromB.json.organization_id).toBe(b.org.id);
  });

  it("after 24 hours the key stores a new event, and the upkeep cron sweeps expired keys", async () => {
    const t = await createTenant();
    const body = eventBody({ description: "old key" });
    const first = await post(t.ingest.as, body, "evt-old");
    await env.DB.prepare("UPDATE security_event_keys SET expires_at = ? WHERE organization_id = ?").bind(new Date(Date.now() - 1000).toISOString(), t.org.id).run();
    const later = await post(t.ingest.as, body, "evt-old");
    expect(later.status).toBe(201);
    expect(later.headers.get("Idempotent-Replayed")).toBeNull();
    expect(later.json.id).not.toBe(first.json.id);
    expect((await keyRows(t.org.id)).map((r) => r.event_id)).toEqual([later.json.id]);

    await env.DB.prepare("UPDATE security_event_keys SET expires_at = ? WHERE organization_id = ?").bind(new Date(Date.now() - 1000).toISOString(), t.org.id).run();
    await runCron(Date.now());
    expect(await keyRows(t.org.id)).toEqual([]);
    // The events themselves stay: only the keys expire.
    expect((await listEvents(t.admin.as, { search: "old key" })).json.items).toHaveLength(2);
  });
});
