import { z } from "@hono/zod-openapi";
import { CHAINPROOF_ONLY_EVENT_TYPES, REPORTABLE_EVENT_TYPES, SECURITY_EVENT_TYPES } from "../audit/chain/enums";
import { endDate, MAX_SEARCH, occurredAt, pageDepth, pagingParams, rangeInOrder, startDate } from "../http/query";
import { ipAddress } from "../audit/chain/input";
import { ALERT_DELIVERY_STATES, SECURITY_EVENT_SOURCES } from "../db/schema";
import { invalid } from "../http/errors";
import { freeFormObject, ijson } from "../http/json-input";
import { SEVERITY_BANDS } from "./bands";
import type { AlertRow, DeliveryRow, SecurityEventRow } from "./store";
import { MAX_WEBHOOK_URL_LENGTH } from "./webhook-url";

const jsonObject = z.record(z.string(), z.unknown());

export const SecurityEventInput = ijson(
  z.object({
    organization_id: z.uuid().toLowerCase().optional().openapi({ description: "Required for super_admin; otherwise the caller's own" }),
    user_id: z.uuid().toLowerCase().nullable().optional(),
    event_type: z
      .enum(REPORTABLE_EVENT_TYPES, {
        error: (issue) =>
          (CHAINPROOF_ONLY_EVENT_TYPES as readonly unknown[]).includes(issue.input) ? "is recorded by chainproof itself and cannot be posted" : undefined,
      })
      .openapi({ description: `Any SecurityEventType except those only chainproof records: ${CHAINPROOF_ONLY_EVENT_TYPES.join(", ")}` }),
    severity: z.string().min(1).max(20).default("info").openapi({ description: "Free text, stored as sent; filters use risk bands instead" }),
    risk_score: z.number().int().min(0).max(100),
    description: z.string().max(2000).nullable().optional(),
    ip_address: ipAddress.nullable().optional(),
    user_agent: z.string().max(512).nullable().optional(),
    metadata: freeFormObject.default({}),
    timestamp: occurredAt.optional().openapi({ description: "When it happened (any ISO 8601 form; stored as UTC ms); default now" }),
  }).strict(),
).openapi("SecurityEventInput");

export const SecurityEventSchema = z
  .object({
    id: z.string(),
    organization_id: z.string().nullable(),
    user_id: z.string().nullable(),
    event_type: z.string(),
    severity: z.string(),
    risk_score: z.number().int(),
    description: z.string().nullable(),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    metadata: jsonObject,
    timestamp: z.string(),
    alerted: z.boolean(),
    source: z.enum(SECURITY_EVENT_SOURCES).openapi({ description: "`chainproof`: recorded by chainproof itself; `ingest`: posted by a client" }),
  })
  .openapi("SecurityEvent");

export const toSecurityEvent = (row: SecurityEventRow): z.infer<typeof SecurityEventSchema> => ({
  id: row.id,
  organization_id: row.organizationId,
  user_id: row.userId,
  event_type: row.eventType,
  severity: row.severity,
  risk_score: row.riskScore,
  description: row.description,
  ip_address: row.ipAddress,
  user_agent: row.userAgent,
  metadata: row.metadata,
  timestamp: row.timestamp,
  alerted: row.alerted,
  source: row.source,
});

const organizationId = z.uuid().toLowerCase().optional().openapi({ description: "super_admin: narrow to one organization (default: all)" });

const dateRange = {
  start_date: startDate.optional().openapi({ description: "ISO 8601 date or date-time; inclusive" }),
  end_date: endDate.optional().openapi({ description: "ISO 8601 date or date-time; inclusive (a bare date: the whole day)" }),
};


export const SecurityEventQuery = z
  .object({
    organization_id: organizationId,
    user_id: z.uuid().toLowerCase().optional(),
    event_type: z.enum(SECURITY_EVENT_TYPES).optional(),
    source: z.enum(SECURITY_EVENT_SOURCES).optional(),
    severity: z.enum(SEVERITY_BANDS).optional().openapi({ description: "Risk band: low 0–19, medium 20–49, high 50–79, critical 80–100" }),
    search: z.string().min(1).max(MAX_SEARCH).optional().openapi({ description: "Contained in the description or a metadata key or value (% and _ are literal)" }),
    ...dateRange,
    ...pagingParams,
  })
  .strict()
  .refine(...pageDepth)
  .refine(...rangeInOrder);

export const SummaryQuery = z
  .object({ organization_id: organizationId, ...dateRange })
  .strict()
  .refine(...rangeInOrder);

export const AlertQuery = z.object({ organization_id: organizationId, ...pagingParams }).strict().refine(...pageDepth);

const page = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({ items: z.array(item), total: z.number().int(), page: z.number().int(), per_page: z.number().int(), pages: z.number().int() })
    .openapi(name);

/** The page answer; a page beyond the last one is out of range (422), as for the audit log. */
export function pageOf<T>(items: T[], total: number, q: { page: number; per_page: number }) {
  const pages = Math.ceil(total / q.per_page);
  if (q.page > Math.max(pages, 1)) throw invalid([{ field: "page", message: `beyond the last page (${Math.max(pages, 1)})` }]);
  return { items, total, page: q.page, per_page: q.per_page, pages };
}

export const SecurityEventPage = page(SecurityEventSchema, "SecurityEventPage");

const counts = <K extends string>(keys: readonly [K, ...K[]]) => z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<K, z.ZodNumber>);

const loginCounts = z.object({ succeeded: z.number().int(), failed: z.number().int() });

export const SecuritySummarySchema = z
  .object({
    organization_id: z.string().nullable().openapi({ description: "null: every organization" }),
    start_date: z.string(),
    end_date: z.string(),
    total: z.number().int(),
    logins: z
      .object({ chainproof: loginCounts, ingest: loginCounts })
      .openapi({ description: "`chainproof`: logins to chainproof itself; `ingest`: logins the platform reported for its own users" }),
    lockouts: z.object({ chainproof: z.number().int() }).openapi({ description: "Lockouts chainproof itself imposed (clients cannot post account_locked)" }),
    by_source: counts(SECURITY_EVENT_SOURCES),
    by_event_type: counts(SECURITY_EVENT_TYPES).openapi({ description: "Every source together" }),
    by_severity: counts(SEVERITY_BANDS).openapi({ description: "By risk band" }),
    high_risk_events: z.array(SecurityEventSchema).openapi({ description: "risk_score >= 50, newest first, up to 100" }),
  })
  .openapi("SecuritySummary");

const ERROR_CLASSES =
  "The class of the failure, never the error's text: `timeout`, `tls`, `dns`, `connection`, `status <code>` (a non-2xx answer, " +
  "redirects included; 52x are Cloudflare's own answers for an unreachable receiver), or `secret unreadable` (configure the webhook again)";

export const AlertSchema = z
  .object({
    id: z.string(),
    organization_id: z.string().nullable(),
    security_event_id: z.string(),
    created_at: z.string(),
    delivery_status: z.enum(ALERT_DELIVERY_STATES),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_attempt_at: z.string().nullable(),
    last_error: z.string().nullable().openapi({ description: ERROR_CLASSES }),
    delivered_at: z.string().nullable(),
    deliveries: z.array(
      z.object({
        attempted_at: z.string(),
        url: z.string(),
        status_code: z.number().int().nullable(),
        error: z.string().nullable().openapi({ description: ERROR_CLASSES }),
        duration_ms: z.number().int(),
      }),
    ),
    security_event: SecurityEventSchema,
  })
  .openapi("Alert");

export const AlertPage = page(AlertSchema, "AlertPage");

export const toAlert = (alert: AlertRow, event: SecurityEventRow, deliveries: DeliveryRow[]): z.infer<typeof AlertSchema> => ({
  id: alert.id,
  organization_id: alert.organizationId,
  security_event_id: alert.securityEventId,
  created_at: alert.createdAt,
  delivery_status: alert.deliveryStatus,
  attempts: alert.attempts,
  next_attempt_at: alert.nextAttemptAt,
  last_attempt_at: alert.lastAttemptAt,
  last_error: alert.lastError,
  delivered_at: alert.deliveredAt,
  deliveries: deliveries.map((d) => ({ attempted_at: d.attemptedAt, url: d.url, status_code: d.statusCode, error: d.error, duration_ms: d.durationMs })),
  security_event: toSecurityEvent(event),
});

export const WebhookInput = ijson(
  z
    .object({
      url: z.string().max(MAX_WEBHOOK_URL_LENGTH).openapi({
        description:
          "https, to a public host: no address of the IANA special-purpose registries (private, loopback, link-local, " +
          "unique-local, CGNAT, documentation, benchmarking, NAT64, 6to4, Teredo, multicast, reserved — in any encoding, " +
          "IPv4-mapped included), no special-use or single-label name (localhost, .local, .internal, .arpa, …). " +
          "The audit chain keeps only its origin and SHA-256.",
      }),
    })
    .strict(),
).openapi("WebhookInput");

export const CreatedWebhookSchema = z
  .object({ url: z.string(), secret: z.string(), created_at: z.string() })
  .openapi("CreatedWebhook", { description: "`secret` signs every delivery and is shown in this answer only" });

export const WebhookSchema = z.object({ url: z.string(), created_at: z.string(), updated_at: z.string() }).openapi("Webhook");
