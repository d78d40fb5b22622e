import { sha256Hex } from "../crypto/encoding";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { GzipLines } from "../audit/retention/archive-file";
import { alertsOfEvents, deleteEvents, deliveriesOfAlerts, eventsBefore } from "./retention-store";

// Events per archive object: one bound id list per statement stays small, the archive in memory too.
const EVENTS_PER_ARCHIVE = 2_000;

/**
 * Security events older than the cutoff (docs/operations.md, "Retention": the audit log's rule), with their alerts
 * and delivery attempts, archived to R2 as gzipped JSONL, then deleted. The object is named by the
 * digest of the event ids it holds: a run cut short between the two steps writes the same object
 * again, never a second one beside it. Returns the events pruned, at most `budget`.
 */
export async function pruneSecurityEvents(env: Env, db: Database, orgId: string | null, cutoff: string, budget: number) {
  let pruned = 0;
  while (pruned < budget) {
    const events = await eventsBefore(db, orgId, cutoff, Math.min(EVENTS_PER_ARCHIVE, budget - pruned));
    if (events.length === 0) break;
    const eventIds = events.map((e) => e.id);
    const alerts = await alertsOfEvents(db, eventIds);
    const alertIds = alerts.map((a) => a.id);
    const deliveries = await deliveriesOfAlerts(db, alertIds);
    const alertOf = new Map(alerts.map((a) => [a.securityEventId, { ...a, deliveries: [] as typeof deliveries }]));
    const byAlert = new Map([...alertOf.values()].map((a) => [a.id, a]));
    for (const delivery of deliveries) byAlert.get(delivery.alertId)?.deliveries.push(delivery);
    const file = new GzipLines();
    await file.write(events.map((event) => JSON.stringify({ ...event, alert: alertOf.get(event.id) ?? null })));
    const { body, sha256 } = await file.finish();
    const key = `archives/${orgId ?? "platform"}/security-events/${(await sha256Hex(eventIds.join("\n"))).slice(0, 32)}.jsonl.gz`;
    await env.ARCHIVE.put(key, body, { httpMetadata: { contentType: "application/gzip" }, sha256, customMetadata: { events: String(events.length), cutoff } });
    await deleteEvents(db, eventIds, alertIds);
    pruned += events.length;
    if (events.length < EVENTS_PER_ARCHIVE) break;
  }
  return pruned;
}
