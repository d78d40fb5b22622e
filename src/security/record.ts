import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { REPORTABLE_EVENT_TYPES } from "../audit/chain/enums";
import type { SecurityEventInput, SecurityLog } from "../auth/security-log";
import type { AppEnv } from "../http/context";
import type { Database } from "../db/client";
import type { SECURITY_EVENT_SOURCES } from "../db/schema";
import type { Env } from "../env";
import { sha256Hex } from "../crypto/encoding";
import { isoNow } from "../time";
import { raisesAlert } from "./alerts";
import { deliverAlert } from "./delivery";
import { type EventKey, findKeyedEvent, insertSecurityEvent, upsertCountedEvent } from "./store";
import { type Idempotency, IDEMPOTENCY_TTL_MS, idempotencyKeyReused } from "../http/idempotency";

/** Where an event is recorded from: its database, its env, and, inside a request or cron run, waitUntil. */
export type SecurityScope = { db: Database; env: Env; waitUntil?: (promise: Promise<unknown>) => void };

/** The scope of a request; the first webhook attempt then runs after the response is sent. */
export function securityScope(c: Context<AppEnv>): SecurityScope {
  const scope: SecurityScope = { db: c.get("db"), env: c.env };
  try {
    const ctx = c.executionCtx;
    scope.waitUntil = (promise) => ctx.waitUntil(promise);
  } catch {
    // No execution context (the app called directly, not as a Worker): the cron delivers instead.
  }
  return scope;
}


/** An event chainproof observed itself (source `chainproof`). */
export const recordSecurityEvent = (scope: SecurityScope, input: SecurityEventInput) => store(scope, input, "chainproof");

type ReportedEvent = SecurityEventInput & { organizationId: string; eventType: (typeof REPORTABLE_EVENT_TYPES)[number] };

/**
 * An event a client posted (source `ingest`); the type system keeps chainproof-only types out.
 * With an Idempotency-Key, a request the key already stored answers that event (`replayed`), and
 * the key sent with another request is a 422; a duplicate racing the first one loses on the key's
 * primary key in D1, stores nothing, and answers what the first stored.
 */
export async function recordReportedEvent(scope: SecurityScope, input: ReportedEvent, idempotency?: Idempotency) {
  if (!idempotency) return { event: await store(scope, input, "ingest"), replayed: false };
  const now = Date.now();
  const earlier = () => replayOf(scope, input.organizationId, idempotency, isoNow(now));
  const first = await earlier();
  if (first) return first;
  try {
    const key = { ...idempotency, now: isoNow(now), expiresAt: isoNow(now + IDEMPOTENCY_TTL_MS) };
    return { event: await store(scope, input, "ingest", key), replayed: false };
  } catch (err) {
    const raced = await earlier();
    if (raced) return raced;
    throw err;
  }
}

async function replayOf(scope: SecurityScope, organizationId: string, idempotency: Idempotency, now: string) {
  const found = await findKeyedEvent(scope.db, organizationId, idempotency.key, now);
  if (!found) return undefined;
  if (found.requestHash !== idempotency.requestHash) {
    throw idempotencyKeyReused("This Idempotency-Key was used with another request in the last 24 hours");
  }
  return { event: found.event, replayed: true };
}

/**
 * Every security event goes through here, whoever raises it: the event and its alert (risk >= 70)
 * are stored in one batch, then the alert's first webhook attempt starts at once where a
 * waitUntil exists; otherwise the cron makes it.
 */
/** The stored columns of an event as given; `alerted` and `source` are the caller's to set. */
const eventRow = (input: SecurityEventInput, id: string, now: number) => ({
  id,
  organizationId: input.organizationId,
  userId: input.userId ?? null,
  eventType: input.eventType,
  severity: input.severity ?? "info",
  riskScore: input.riskScore,
  description: input.description,
  ipAddress: input.ipAddress ?? null,
  userAgent: input.userAgent?.slice(0, 512) ?? null,
  metadata: input.metadata ?? {},
  timestamp: input.timestamp ?? isoNow(now),
});

async function store(scope: SecurityScope, input: SecurityEventInput, source: (typeof SECURITY_EVENT_SOURCES)[number], key?: EventKey) {
  const now = Date.now();
  const alert = raisesAlert(input.riskScore) ? { id: crypto.randomUUID(), createdAt: isoNow(now) } : null;
  const { event, alertStatus } = await insertSecurityEvent(
    scope.db,
    { ...eventRow(input, crypto.randomUUID(), now), alerted: alert !== null, source },
    alert,
    key,
  );
  if (alert && alertStatus === "pending") scope.waitUntil?.(deliverAlert(scope.env, alert.id));
  return event;
}

/** A UUID (version 8, RFC 9562) that is the same for the same key: how a counted event is found again. */
async function idFor(key: string) {
  const hex = await sha256Hex(key);
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * For what may repeat without bound (failed logins on unknown usernames, refused logins from an
 * IP): one event per `key`, whose `metadata[counter]` counts the occurrences. Such events never
 * alert, so their risk stays below the alert threshold.
 */
export async function recordCountedSecurityEvent(scope: SecurityScope, key: string, counter: string, input: SecurityEventInput) {
  if (raisesAlert(input.riskScore)) throw new Error("a counted security event cannot raise an alert");
  return upsertCountedEvent(scope.db, { ...eventRow(input, await idFor(`${input.eventType}|${key}`), Date.now()), alerted: false, source: "chainproof" }, counter);
}

/** The security log of a scope: what authentication and tenancy record through. */
export const securityLogOf = (scope: SecurityScope): SecurityLog => ({
  record: (input) => recordSecurityEvent(scope, input),
  recordCounted: (key, counter, input) => recordCountedSecurityEvent(scope, key, counter, input),
});

/** Gives each request its security log; runs after the D1 session is attached and before authentication. */
export const attachSecurityLog = () =>
  createMiddleware<AppEnv>(async function attachSecurityLog(c, next) {
    c.set("securityLog", securityLogOf(securityScope(c)));
    await next();
  });
