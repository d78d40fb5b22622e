import { SECURITY_EVENT_TYPES } from "../audit/chain/enums";
import { SECURITY_EVENT_SOURCES } from "../db/schema";
import { isoNow } from "../time";
import { bandOf, SEVERITY_BANDS } from "./bands";
import { toSecurityEvent } from "./schemas";
import type { summarizeSecurityEvents } from "./store";

type EventType = (typeof SECURITY_EVENT_TYPES)[number];

const SUMMARY_DAYS = 7;

/** The summary's window: what the caller named, else the 7 days up to `end_date` (or now). */
export function summaryWindow(startDate: string | undefined, endDate: string | undefined, now: number) {
  const end = endDate ?? isoNow(now);
  return { start: startDate ?? isoNow(Date.parse(end) - SUMMARY_DAYS * 86_400_000), end };
}

const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

/**
 * The security summary from the store's counts: every event type, source and band present, zeros
 * included. Logins and lockouts say whose they are: a client cannot inflate chainproof's own.
 */
export function securitySummary({ byType, byRisk, highRisk }: Awaited<ReturnType<typeof summarizeSecurityEvents>>) {
  const byEventType = zeros(SECURITY_EVENT_TYPES);
  const bySource = zeros(SECURITY_EVENT_SOURCES);
  const perSource = { chainproof: zeros(SECURITY_EVENT_TYPES), ingest: zeros(SECURITY_EVENT_TYPES) };
  for (const { eventType, source, n } of byType) {
    if (!(eventType in byEventType)) continue;
    byEventType[eventType as EventType] += n;
    bySource[source] += n;
    perSource[source][eventType as EventType] += n;
  }
  const logins = (counts: Record<EventType, number>) => ({ succeeded: counts.login_success, failed: counts.login_failed });
  const bySeverity = zeros(SEVERITY_BANDS);
  for (const { riskScore, n } of byRisk) bySeverity[bandOf(riskScore)] += n;
  return {
    total: byType.reduce((sum, r) => sum + r.n, 0),
    logins: { chainproof: logins(perSource.chainproof), ingest: logins(perSource.ingest) },
    lockouts: { chainproof: perSource.chainproof.account_locked },
    by_source: bySource,
    by_event_type: byEventType,
    by_severity: bySeverity,
    high_risk_events: highRisk.map(toSecurityEvent),
  };
}
