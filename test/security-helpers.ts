import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import worker from "../src/index";
import type { ReceivedRequest } from "./setup/webhook-receiver";
import { api, type Credentials } from "./helpers";

export const DELIVERY_CRON = "*/5 * * * *";

/** Base URL of the real HTTP receiver started by test/setup/webhook-receiver.ts. */
export const receiver = () => inject("webhookReceiver");

/** What the receiver got on paths starting with `prefix`, oldest first. */
export async function received(prefix: string): Promise<ReceivedRequest[]> {
  const all = (await (await fetch(`${receiver()}/_received`)).json()) as ReceivedRequest[];
  return all.filter((r) => r.path.startsWith(prefix));
}

/** Polls until `check` returns a value (the first webhook attempt runs after the response, in waitUntil). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs the Worker's cron handler as the platform would, at `scheduledTime`. */
export async function runCron(scheduledTime: number, cron = DELIVERY_CRON) {
  const controller = createScheduledController({ cron, scheduledTime });
  const ctx = createExecutionContext();
  await worker.scheduled(controller, env, ctx);
  await waitOnExecutionContext(ctx);
}

export const eventBody = (overrides: Record<string, unknown> = {}) => ({
  event_type: "suspicious_ip",
  risk_score: 10,
  description: "seen from a listed address",
  ip_address: "198.51.100.23",
  user_agent: "platform/1.0",
  metadata: { source: "firewall" } as Record<string, unknown>,
  ...overrides,
});

export const postEvent = (as: Credentials, body: unknown) => api("/api/v1/audit/security-events", { method: "POST", as, body });

export const query = (params: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(params).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]]))).toString();

export const listEvents = (as: Credentials, params: Record<string, string | number | undefined> = {}, path = "/api/v1/audit/security") =>
  api(`${path}?${query(params)}`, { as });

export const listAlerts = (as: Credentials, params: Record<string, string | number | undefined> = {}) =>
  api(`/api/v1/audit/alerts?${query(params)}`, { as });

export type AlertItem = {
  id: string;
  organization_id: string | null;
  security_event_id: string;
  created_at: string;
  delivery_status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_error: string | null;
  delivered_at: string | null;
  deliveries: { attempted_at: string; url: string; status_code: number | null; error: string | null; duration_ms: number }[];
  security_event: Record<string, unknown>;
};

/** The alert raised by one event, as its organization's admin sees it. */
export async function alertFor(as: Credentials, eventId: string): Promise<AlertItem | undefined> {
  const res = await listAlerts(as, { per_page: 200 });
  return (res.json.items as AlertItem[]).find((a) => a.security_event_id === eventId);
}

export const putWebhook = (as: Credentials, orgId: string, url: string) =>
  api(`/api/v1/organizations/${orgId}/webhook`, { method: "PUT", as, body: { url } });
