import type { Database } from "../db/client";
import { isoNow } from "../time";
import { insertSecurityEvent } from "./store";

export type SecurityEventInput = {
  organizationId: string | null;
  userId?: string | null;
  eventType: string;
  riskScore: number;
  severity?: string;
  description: string;
  ipAddress?: string | null;
  userAgent?: string | null;
  metadata?: Record<string, unknown>;
};

/** chainproof's own security events (failed logins, lockouts, cross-tenant attempts). */
export async function recordSecurityEvent(db: Database, input: SecurityEventInput) {
  const [event] = await insertSecurityEvent(db, {
    id: crypto.randomUUID(),
    organizationId: input.organizationId,
    userId: input.userId ?? null,
    eventType: input.eventType,
    severity: input.severity ?? "info",
    riskScore: input.riskScore,
    description: input.description,
    ipAddress: input.ipAddress ?? null,
    userAgent: input.userAgent?.slice(0, 512) ?? null,
    metadata: input.metadata ?? {},
    timestamp: isoNow(),
  });
  return event!;
}
