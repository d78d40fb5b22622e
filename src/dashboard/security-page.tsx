import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { z } from "@hono/zod-openapi";
import { SECURITY_EVENT_TYPES } from "../audit/chain/enums";
import type { AppEnv } from "../http/context";
import { listOrganizations } from "../orgs/store";
import { bandOf, SEVERITY_BANDS } from "../security/bands";
import { listAlerts, listEvents } from "../security/event-routes";
import { AlertQuery, type SecurityEventSchema, SecurityEventQuery } from "../security/schemas";
import { FieldErrors, OrgPicker, Pager, queryOf } from "./components";
import { formQuery, parseWith } from "./form-input";
import { auditView, pageOrganization } from "./page-org";

type SecurityEvent = z.infer<typeof SecurityEventSchema>;
const ALERTS_SHOWN = 20;

export const RiskBadge: FC<{ score: number }> = ({ score }) => {
  const band = bandOf(score);
  return <span class={`badge risk-${band}`}>{band} · {score}</span>;
};

const EventRow: FC<{ e: SecurityEvent }> = ({ e }) => (
  <tr>
    <td>{e.timestamp.replace("T", " ").slice(0, 19)}</td>
    <td><RiskBadge score={e.risk_score} /></td>
    <td>{e.event_type}</td>
    <td>
      <details>
        <summary>{e.description ?? "(no description)"}</summary>
        <dl>
          <dt>Event id</dt><dd><code>{e.id}</code></dd>
          <dt>User</dt><dd><code>{e.user_id ?? "—"}</code></dd>
          <dt>Source</dt><dd>{e.source}</dd>
          <dt>Stored severity</dt><dd>{e.severity}</dd>
          <dt>Client</dt><dd>{e.ip_address ?? "—"} · {e.user_agent ?? "—"}</dd>
          <dt>Alerted</dt><dd>{e.alerted ? "yes" : "no"}</dd>
        </dl>
        <pre>{JSON.stringify(e.metadata, null, 2)}</pre>
      </details>
    </td>
  </tr>
);

/** `/security`: events by risk band, newest first, and the alerts with their delivery state. Viewing is audited. */
export async function securityPage(c: Context<AppEnv>) {
  const caller = c.get("caller");
  const org = await pageOrganization(c, ["org_admin", "super_admin"]);
  if (!org) return c.render(<OrgPicker orgs={await listOrganizations(c.get("db"))} path="/security" />, { title: "Security", caller, current: "security" });
  const filters = formQuery(c);
  const props = { title: `Security · ${org.name}`, caller, orgId: org.id, current: "security" };
  const parsed = parseWith(SecurityEventQuery, { ...filters, organization_id: org.id });
  const severity = typeof filters.severity === "string" ? filters.severity : "";
  const eventType = typeof filters.event_type === "string" ? filters.event_type : "";
  const form = (
    <form class="filters" method="get" action="/security" role="search" aria-label="Filter security events">
      {caller.role === "super_admin" && <input type="hidden" name="organization_id" value={org.id} />}
      <label>
        Risk band
        <select name="severity">
          <option value="">any</option>
          {SEVERITY_BANDS.map((b) => <option value={b} selected={b === severity}>{b}</option>)}
        </select>
      </label>
      <label>
        Event type
        <select name="event_type">
          <option value="">any</option>
          {SECURITY_EVENT_TYPES.map((t) => <option value={t} selected={t === eventType}>{t}</option>)}
        </select>
      </label>
      <button type="submit">Apply filters</button>
    </form>
  );
  if (!parsed.ok) {
    c.status(422);
    return c.render(<><h1>Security</h1><FieldErrors errors={parsed.errors} />{form}</>, props);
  }
  const events = await listEvents(c, parsed.value);
  const alerts = await listAlerts(c, AlertQuery.parse({ organization_id: org.id, per_page: String(ALERTS_SHOWN) }));
  await auditView(c, org.id, "security_event", null, { view: "security", filters: { ...filters, page: parsed.value.page } });
  const { page: _page, organization_id: _org, ...kept } = filters;
  const pagerQuery = queryOf({ ...kept, organization_id: caller.role === "super_admin" ? org.id : undefined });
  return c.render(
    <>
      <h1>Security</h1>
      {form}
      <div class="scroll">
        <table>
          <caption>Security events, newest first</caption>
          <thead>
            <tr><th scope="col">Time (UTC)</th><th scope="col">Risk</th><th scope="col">Type</th><th scope="col">Detail</th></tr>
          </thead>
          <tbody>{events.items.map((e) => <EventRow e={e} />)}</tbody>
        </table>
      </div>
      <Pager path="/security" query={pagerQuery} page={events.page} pages={events.pages} total={events.total} />
      <h2>Alerts</h2>
      <p>Every event with risk 70 or more raises an alert, delivered to the organization's webhook and retried with backoff.</p>
      <div class="scroll">
        <table>
          <caption>Newest {ALERTS_SHOWN} of {alerts.total} alerts</caption>
          <thead>
            <tr><th scope="col">Raised</th><th scope="col">Event</th><th scope="col">Delivery</th><th scope="col">Attempts</th><th scope="col">Last error</th></tr>
          </thead>
          <tbody>
            {alerts.items.map((a) => (
              <tr>
                <td>{a.created_at.replace("T", " ").slice(0, 19)}</td>
                <td><RiskBadge score={a.security_event.risk_score} /> {a.security_event.event_type}</td>
                <td>
                  <span class={`badge ${a.delivery_status === "delivered" ? "pass" : a.delivery_status === "failed" ? "fail" : "warn"}`}>{a.delivery_status}</span>
                  {a.next_attempt_at && <small> next try {a.next_attempt_at}</small>}
                </td>
                <td>{a.attempts}</td>
                <td>{a.last_error ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>,
    props,
  );
}
