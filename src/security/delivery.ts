import { database, type Database } from "../db/client";
import type { Env } from "../env";
import { isoNow } from "../time";
import { type AttemptResult, afterAttempt, DELIVERY_LEASE_MS, DELIVERY_TIMEOUT_MS } from "./alerts";
import { toSecurityEvent } from "./schemas";
import { claimAlert, dueAlerts, markNotConfigured, recordAttempt } from "./store";
import { openWebhookSecret, SIGNATURE_HEADER, signatureHeader } from "./webhooks";

type Due = Awaited<ReturnType<typeof dueAlerts>>[number];

/** Alerts one cron run attempts at most; the rest wait for the next run. */
const DUE_PER_RUN = 100;
/** A Worker keeps at most six outbound connections open at once. */
const PARALLEL_DELIVERIES = 6;

/** The first attempt for a fresh alert, right after its event was stored (scheduled with waitUntil). */
export async function deliverAlert(env: Env, alertId: string) {
  const db = database(env.DB);
  const now = Date.now();
  await logged(alertId, async () => {
    const [due] = await dueAlerts(db, isoNow(now), 1, alertId);
    if (due) await attempt(env, db, due, now);
  });
}

/** The cron's part: pending alerts due at `now` (the oldest 100) get one attempt each, six at a time. */
export async function deliverDueAlerts(env: Env, now: number) {
  const db = database(env.DB);
  const queue = await dueAlerts(db, isoNow(now), DUE_PER_RUN);
  const worker = async () => {
    for (let due = queue.shift(); due; due = queue.shift()) await logged(due.alert.id, () => attempt(env, db, due, now));
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DELIVERIES, queue.length) }, worker));
}

async function logged(alertId: string, work: () => Promise<void>) {
  try {
    await work();
  } catch (err) {
    // By name only: the message could carry SQL. The cron tries again once the alert is due.
    console.error(`alert ${alertId}: delivery attempt failed with ${(err as Error).name}`);
  }
}

async function attempt(env: Env, db: Database, { alert, event, webhook }: Due, now: number) {
  if (!webhook) {
    await markNotConfigured(db, alert.id);
    return;
  }
  const attempts = await claimAlert(db, alert.id, isoNow(now), isoNow(now + DELIVERY_LEASE_MS));
  if (attempts === undefined) return;
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
}

/** One signed POST. Errors are described without the secret, the body or the signature. */
async function post(env: Env, webhook: NonNullable<Due["webhook"]>, body: string): Promise<AttemptResult> {
  let secret: string;
  try {
    secret = await openWebhookSecret(env.SECRET_KEY, webhook.organizationId, webhook.secretCiphertext);
  } catch {
    return { ok: false, statusCode: null, error: "the webhook secret cannot be decrypted (was SECRET_KEY changed?); configure the webhook again" };
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
    return res.ok ? { ok: true, statusCode: res.status } : { ok: false, statusCode: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    const name = (err as Error).name;
    const error = name === "TimeoutError" ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : `${name}: ${(err as Error).message}`.slice(0, 300);
    return { ok: false, statusCode: null, error };
  }
}
