import { database, type Database } from "../db/client";
import type { Env } from "../env";
import { isoNow } from "../time";
import { type AttemptResult, afterAttempt, byOrganization, DELIVERY_LEASE_MS, DELIVERY_TIMEOUT_MS, fetchErrorClass, receiverUnreachable } from "./alerts";
import { toSecurityEvent } from "./schemas";
import { claimAlert, dueAlert, dueAlertsFairly, markNotConfigured, recordAttempt } from "./store";
import { openWebhookSecret, SIGNATURE_HEADER, signatureHeader } from "./webhooks";

type Due = NonNullable<Awaited<ReturnType<typeof dueAlert>>>;

/** Alerts one cron run attempts at most; the rest wait for the next run. */
const DUE_PER_RUN = 100;
/** Alerts of one organization one cron run attempts at most, so that every organization gets its turn. */
const DUE_PER_ORG = 10;
/** Once an organization's deliveries have taken this long in a run, its remaining alerts wait for the next one. */
const ORG_TIME_BUDGET_MS = 30 * 1000;
/** A Worker keeps at most six outbound connections open at once. */
const PARALLEL_DELIVERIES = 6;

/** The first attempt for a fresh alert, right after its event was stored (scheduled with waitUntil). */
export async function deliverAlert(env: Env, alertId: string) {
  const db = database(env.DB);
  const now = Date.now();
  await logged(alertId, async () => {
    const due = await dueAlert(db, isoNow(now), alertId);
    if (due) await attempt(env, db, due, now);
  });
}

/**
 * The cron's part: pending alerts due at `now`, at most 10 per organization and 100 in all, taken
 * round-robin. Each organization's alerts go one at a time (six organizations at once), and stop
 * for this run when its receiver times out or cannot be reached, or after 30 s: a dead or slow
 * receiver costs its own organization the wait, not everyone else's alerts.
 */
export async function deliverDueAlerts(env: Env, now: number) {
  const db = database(env.DB);
  const lanes = byOrganization(await dueAlertsFairly(db, isoNow(now), DUE_PER_ORG, DUE_PER_RUN), (due) => due.alert.organizationId);
  const deliverLane = async (lane: Due[]) => {
    const started = Date.now();
    for (const due of lane) {
      if (Date.now() - started >= ORG_TIME_BUDGET_MS) return;
      const result = await logged(due.alert.id, () => attempt(env, db, due, now));
      if (result && receiverUnreachable(result)) return;
    }
  };
  const worker = async () => {
    for (let lane = lanes.shift(); lane; lane = lanes.shift()) await deliverLane(lane);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DELIVERIES, lanes.length) }, worker));
}

async function logged<T>(alertId: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (err) {
    // By name only: the message could carry SQL. The cron tries again once the alert is due.
    console.error(`alert ${alertId}: delivery attempt failed with ${(err as Error).name}`);
    return undefined;
  }
}

/** One attempt at one alert; null when none was made (no webhook, or someone else claimed it). */
async function attempt(env: Env, db: Database, { alert, event, webhook }: Due, now: number): Promise<AttemptResult | null> {
  if (!webhook) {
    await markNotConfigured(db, alert.id);
    return null;
  }
  const attempts = await claimAlert(db, alert.id, isoNow(now), isoNow(now + DELIVERY_LEASE_MS));
  if (attempts === undefined) return null;
  const body = JSON.stringify({
    type: "security.alert",
    alert_id: alert.id,
    organization_id: alert.organizationId,
    security_event: toSecurityEvent(event),
  });
  const started = Date.now();
  const result = await post(env, webhook, body);
  await recordAttempt(
    db,
    {
      id: crypto.randomUUID(),
      alertId: alert.id,
      attemptedAt: isoNow(now),
      url: webhook.url,
      statusCode: result.statusCode,
      error: result.ok ? null : result.error,
      durationMs: Date.now() - started,
    },
    afterAttempt(attempts, result, now),
  );
  return result;
}

/** One signed POST. A failure is told by its class only: never the secret, the body, the signature or the error's text. */
async function post(env: Env, webhook: NonNullable<Due["webhook"]>, body: string): Promise<AttemptResult> {
  let secret: string;
  try {
    secret = await openWebhookSecret(env.SECRET_KEY, webhook.organizationId, webhook.secretCiphertext);
  } catch {
    return { ok: false, statusCode: null, error: "secret unreadable" };
  }
  // The signature carries the real sending time: receivers compare it with their own clock.
  const signature = await signatureHeader(secret, Math.floor(Date.now() / 1000), body);
  try {
    const res = await fetch(webhook.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", [SIGNATURE_HEADER]: signature, "User-Agent": "chainproof-webhooks/1" },
      body,
      // A redirect could lead anywhere, including where the URL rules forbid: it counts as a failure.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return res.ok ? { ok: true, statusCode: res.status } : { ok: false, statusCode: res.status, error: `status ${res.status}` };
  } catch (err) {
    return { ok: false, statusCode: null, error: fetchErrorClass(err) };
  }
}
