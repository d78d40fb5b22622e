import { SECURITY_EVENT_TYPES } from "../audit/enums";
import { isoNow } from "../time";
import { bandOf, SEVERITY_BANDS, type SeverityBand } from "./bands";
import { toSecurityEvent } from "./schemas";
import type { summarizeSecurityEvents } from "./store";

type EventType = (typeof SECURITY_EVENT_TYPES)[number];

const SUMMARY_DAYS = 7;

/** The summary's window: what the caller named, else the 7 days up to `end_date` (or now). */
export function summaryWindow(startDate: string | undefined, endDate: string | undefined, now: number) {
  const end = endDate ?? isoNow(now);
  return { start: startDate ?? isoNow(Date.parse(end) - SUMMARY_DAYS * 86_400_000), end };
}

/** The security summary from the store's counts: every event type and band present, zeros included. */
export function securitySummary({ byType, byRisk, highRisk }: Awaited<ReturnType<typeof summarizeSecurityEvents>>) {
  const byEventType = Object.fromEntries(SECURITY_EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>;
  for (const { eventType, n } of byType) if (eventType in byEventType) byEventType[eventType as EventType] = n;
  const bySeverity = Object.fromEntries(SEVERITY_BANDS.map((b) => [b, 0])) as Record<SeverityBand, number>;
  for (const { riskScore, n } of byRisk) bySeverity[bandOf(riskScore)] += n;
  return {
    total: byType.reduce((sum, r) => sum + r.n, 0),
    logins: { succeeded: byEventType.login_success, failed: byEventType.login_failed },
    lockouts: byEventType.account_locked,
    by_event_type: byEventType,
    by_severity: bySeverity,
    high_risk_events: highRisk.map(toSecurityEvent),
  };
}
