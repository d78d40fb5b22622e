import type { ALERT_DELIVERY_STATES } from "../db/schema";

/** Any security event at or above this risk raises an alert. */
const ALERT_RISK_SCORE = 70;
export const MAX_DELIVERY_ATTEMPTS = 8;
/** How long a claimed delivery stays claimed: longer than the request timeout, so no one else sends it meanwhile. */
export const DELIVERY_LEASE_MS = 2 * 60 * 1000;
export const DELIVERY_TIMEOUT_MS = 10 * 1000;

export type DeliveryState = (typeof ALERT_DELIVERY_STATES)[number];

export const raisesAlert = (riskScore: number) => riskScore >= ALERT_RISK_SCORE;

/** Wait after the n-th failed attempt: 1, 2, 4, 8 … minutes. */
export const retryDelayMs = (attempts: number) => 60_000 * 2 ** (attempts - 1);

export type AttemptResult = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: string };

/** The alert's state after its `attempts`-th attempt ended with `result` at `now`. */
export function afterAttempt(attempts: number, result: AttemptResult, now: number) {
  if (result.ok) {
    return { deliveryStatus: "delivered" as DeliveryState, nextAttemptAt: null, lastError: null, deliveredAt: new Date(now).toISOString() };
  }
  const givenUp = attempts >= MAX_DELIVERY_ATTEMPTS;
  return {
    deliveryStatus: (givenUp ? "failed" : "pending") as DeliveryState,
    nextAttemptAt: givenUp ? null : new Date(now + retryDelayMs(attempts)).toISOString(),
    lastError: result.error,
    deliveredAt: null,
  };
}
