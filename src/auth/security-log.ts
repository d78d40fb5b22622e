import type { SECURITY_EVENT_TYPES } from "../audit/chain/enums";

/** A security event chainproof observed, as the code that saw it describes it. */
export type SecurityEventInput = {
  organizationId: string | null;
  userId?: string | null;
  eventType: (typeof SECURITY_EVENT_TYPES)[number];
  riskScore: number;
  /** Stored as given, never recomputed; bands come from riskScore. */
  severity?: string;
  description: string | null;
  ipAddress?: string | null;
  userAgent?: string | null;
  metadata?: Record<string, unknown>;
  /** When it happened (normalized ISO 8601); default now. */
  timestamp?: string;
};

/**
 * How authentication and tenancy record what they observe. The security domain provides one per
 * request (`attachSecurityLog`, wired in app.ts), so auth does not depend on that domain.
 */
export type SecurityLog = {
  record(input: SecurityEventInput): Promise<unknown>;
  /** One event per `key` whose `metadata[counter]` counts the occurrences: for what may repeat without bound. */
  recordCounted(key: string, counter: string, input: SecurityEventInput): Promise<unknown>;
};

declare module "hono" {
  interface ContextVariableMap {
    securityLog: SecurityLog;
  }
}
