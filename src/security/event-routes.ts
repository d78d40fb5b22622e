import { assertRangeInOrder } from "../http/query";
import { createRoute, type RouteConfig, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireRole } from "../auth/caller";
import { type AppEnv } from "../http/context";
import { readScope, writeScope } from "../auth/tenancy";
import { namingEveryField, organizationScope } from "../audit/append-problems";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import { spendBudget } from "../http/rate-limits";
import { IdempotencyHeaders, idempotencyOf } from "../http/idempotency";
import { limitBody } from "../http/request-guards";
import { BAND_RANGES, HIGH_RISK_SCORE } from "./bands";
import { recordReportedEvent, securityScope } from "./record";
import {
  AlertPage,
  AlertQuery,
  pageOf,
  SecurityEventInput,
  SecurityEventPage,
  SecurityEventQuery,
  SecurityEventSchema,
  SecuritySummarySchema,
  SummaryQuery,
  toAlert,
  toSecurityEvent,
} from "./schemas";
import { pageAlerts, pageSecurityEvents, summarizeSecurityEvents } from "./store";
import { securitySummary, summaryWindow } from "./summary";

const security = newRouter();
const tags = ["Security events"];
const READERS = ["super_admin", "org_admin"] as const;
const HIGH_RISK_LIMIT = 100;
/** Which organization a read covers: undefined is every organization (super_admin only). */
security.openapi(
  createRoute({
    method: "post",
    path: "/security-events",
    operationId: "recordSecurityEvent",
    tags,
    security: authenticated,
    summary: "Record a security event (source `ingest`); risk_score >= 70 raises an alert; chainproof-only types are refused",
    middleware: [requireRole("ingest", "org_admin", "super_admin"), limitBody(64 * 1024)] as const,
    request: { headers: IdempotencyHeaders, body: jsonBody(SecurityEventInput) },
    responses: { 201: json(SecurityEventSchema, "The stored event"), ...errorResponses(401, 403, 413, 415, 422) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const idempotency = await idempotencyOf(c, c.req.valid("header")["idempotency-key"], await c.req.json());
    const { event, replayed } = await recordReportedEvent(securityScope(c), {
      organizationId: await writeScope(c, input.organization_id),
      userId: input.user_id,
      eventType: input.event_type,
      severity: input.severity,
      riskScore: input.risk_score,
      description: input.description ?? null,
      ipAddress: input.ip_address,
      userAgent: input.user_agent,
      metadata: input.metadata,
      timestamp: input.timestamp,
    }, idempotency);
    if (replayed) c.header("Idempotent-Replayed", "true");
    return c.json(toSecurityEvent(event), 201);
  },
  // A refused body names its organization problem too, like an append's.
  namingEveryField(organizationScope),
);

const listRoute = (path: string, summary: string, operationId: string) =>
  createRoute({
    method: "get",
    path,
    operationId,
    tags,
    security: authenticated,
    summary,
    middleware: [requireRole(...READERS)] as const,
    request: { query: SecurityEventQuery },
    responses: { 200: json(SecurityEventPage, "Newest first"), ...errorResponses(401, 403, 404, 422) },
  }) satisfies RouteConfig;

/** A page of security events in the API's shape; the dashboard renders the same pages. */
export const listEvents = async (c: Context<AppEnv>, q: z.output<typeof SecurityEventQuery>) => {
  const { rows, total } = await pageSecurityEvents(
    c.get("db"),
    {
      organizationId: await readScope(c, q.organization_id),
      userId: q.user_id,
      eventType: q.event_type,
      source: q.source,
      risk: q.severity && BAND_RANGES[q.severity],
      search: q.search,
      from: q.start_date,
      to: q.end_date,
    },
    q.per_page,
    (q.page - 1) * q.per_page,
  );
  return pageOf(rows.map(toSecurityEvent), total, q);
};

security.openapi(listRoute("/security", "Security events; `severity` filters by risk band", "listSecurityEvents"), async (c) =>
  c.json(await listEvents(c, c.req.valid("query")), 200),
);
security.openapi(listRoute("/security-events", "Security events (alias of GET /api/v1/audit/security)", "listSecurityEventsAlias"), async (c) =>
  c.json(await listEvents(c, c.req.valid("query")), 200),
);

security.openapi(
  createRoute({
    method: "get",
    path: "/summary/security",
    operationId: "getSecuritySummary",
    tags,
    security: authenticated,
    summary: "Logins and lockouts by source, counts by source, event type and risk band, high-risk events (default: last 7 days)",
    middleware: [requireRole(...READERS)] as const,
    request: { query: SummaryQuery },
    responses: { 200: json(SecuritySummarySchema, "The summary"), ...errorResponses(401, 403, 404, 422, 429) },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const organizationId = await readScope(c, q.organization_id);
    const { start, end } = summaryWindow(q.start_date, q.end_date, Date.now());
    assertRangeInOrder(start, end);
    await spendBudget(c.env, "SUMMARY_BUDGET", organizationId);
    const counts = await summarizeSecurityEvents(c.get("db"), { organizationId, from: start, to: end }, HIGH_RISK_SCORE, HIGH_RISK_LIMIT);
    return c.json({ organization_id: organizationId ?? null, start_date: start, end_date: end, ...securitySummary(counts) }, 200);
  },
);

security.openapi(
  createRoute({
    method: "get",
    path: "/alerts",
    operationId: "listSecurityAlerts",
    tags,
    security: authenticated,
    summary: "Alerts raised by security events (risk >= 70), with their webhook delivery state",
    middleware: [requireRole(...READERS)] as const,
    request: { query: AlertQuery },
    responses: { 200: json(AlertPage, "Newest first"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => c.json(await listAlerts(c, c.req.valid("query")), 200),
);

/** A page of alerts with their events and delivery attempts. */
export async function listAlerts(c: Context<AppEnv>, q: z.output<typeof AlertQuery>) {
  const { rows, total, events, deliveries } = await pageAlerts(c.get("db"), await readScope(c, q.organization_id), q.per_page, (q.page - 1) * q.per_page);
  const items = rows.map((alert) => toAlert(alert, events.find((e) => e.id === alert.securityEventId)!, deliveries.filter((d) => d.alertId === alert.id)));
  return pageOf(items, total, q);
}

export default security;
