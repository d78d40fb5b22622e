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

/**
 * What an org_admin sees of a failed attempt: a class, never the fetch error's own text (which can
 * name internals of the runtime or the receiver). `secret unreadable`: the stored signing secret no
 * longer decrypts (SECRET_KEY changed); configuring the webhook again fixes it.
 */
export type DeliveryError = "timeout" | "tls" | "dns" | "connection" | "secret unreadable" | `status ${number}`;

export type AttemptResult = { ok: true; statusCode: number } | { ok: false; statusCode: number | null; error: DeliveryError };

/** The class of an error thrown by fetch. Cloudflare answers most origin failures with a 52x status instead. */
export function fetchErrorClass(err: unknown): DeliveryError {
  const { name, message } = err instanceof Error ? err : { name: "", message: String(err) };
  if (name === "TimeoutError" || name === "AbortError") return "timeout";
  if (/\b(tls|ssl|certificate|handshake)\b/i.test(message)) return "tls";
  if (/\b(dns|resolve|resolution|lookup)\b/i.test(message)) return "dns";
  return "connection";
}

/** A receiver that did not answer in time or could not be reached: its organization's other alerts wait for the next run. */
export const receiverUnreachable = (result: AttemptResult) => !result.ok && result.statusCode === null && result.error !== "secret unreadable";

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

/**
 * Splits work into one lane per organization, lanes ordered by their first item and items kept in
 * their order: given a round-robin list, the organization whose oldest item is oldest goes first.
 */
export function byOrganization<T>(items: T[], organizationOf: (item: T) => string | null): T[][] {
  const lanes = new Map<string | null, T[]>();
  for (const item of items) {
    const key = organizationOf(item);
    const lane = lanes.get(key);
    if (lane) lane.push(item);
    else lanes.set(key, [item]);
  }
  return [...lanes.values()];
}
