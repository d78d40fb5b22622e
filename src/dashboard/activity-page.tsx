import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { z } from "@hono/zod-openapi";
import { activitySummary } from "../audit/read/routes";
import type { AppEnv } from "../http/context";
import { endDate, startDate } from "../http/query";
import { listOrganizations } from "../orgs/store";
import { FieldErrors, OrgPicker } from "./components";
import { DayChart, everyDay } from "./day-chart";
import { formQuery, parseWith } from "./form-input";
import { auditView, pageOrganization } from "./page-org";

const ActivityQuery = z.object({ organization_id: z.uuid().toLowerCase().optional(), start_date: startDate.optional(), end_date: endDate.optional() }).strict();

const Counts: FC<{ caption: string; rows: [string, number][] }> = ({ caption, rows }) => (
  <table>
    <caption>{caption}</caption>
    <tbody>
      {rows.map(([key, n]) => (
        <tr><th scope="row">{key}</th><td>{n}</td></tr>
      ))}
    </tbody>
  </table>
);

/** `/activity`: the activity summary (default: the last 30 days) as a per-day chart and top lists. Viewing is audited. */
export async function activityPage(c: Context<AppEnv>) {
  const caller = c.get("caller");
  const org = await pageOrganization(c, ["org_admin", "super_admin"]);
  if (!org) return c.render(<OrgPicker orgs={await listOrganizations(c.get("db"))} path="/activity" />, { title: "Activity", caller, current: "activity" });
  const filters = formQuery(c);
  const props = { title: `Activity · ${org.name}`, caller, orgId: org.id, current: "activity" };
  const parsed = parseWith(ActivityQuery, filters);
  if (!parsed.ok) {
    c.status(422);
    return c.render(<><h1>Activity</h1><FieldErrors errors={parsed.errors} /></>, props);
  }
  const summary = await activitySummary(c, { ...parsed.value, organization_id: org.id });
  await auditView(c, org.id, "audit_log", null, { view: "activity", start_date: summary.start_date, end_date: summary.end_date });
  const days = everyDay(summary.start_date, summary.end_date, summary.per_day);
  return c.render(
    <>
      <h1>Activity</h1>
      <form class="filters" method="get" action="/activity" aria-label="Period">
        {caller.role === "super_admin" && <input type="hidden" name="organization_id" value={org.id} />}
        <label>From <input type="date" name="start_date" value={summary.start_date.slice(0, 10)} /></label>
        <label>To <input type="date" name="end_date" value={summary.end_date.slice(0, 10)} /></label>
        <button type="submit">Show</button>
      </form>
      <p>{summary.total} records from {summary.start_date.slice(0, 10)} to {summary.end_date.slice(0, 10)}.</p>
      <h2>Per day</h2>
      <DayChart days={days} />
      <div class="scroll" style="display:flex;flex-wrap:wrap;gap:2rem">
        <div><Counts caption="Top actions" rows={Object.entries(summary.by_action)} /></div>
        <div><Counts caption="Resource types" rows={Object.entries(summary.by_resource_type)} /></div>
        <div><Counts caption="Statuses" rows={Object.entries(summary.by_status)} /></div>
        <div><Counts caption="Top actors" rows={summary.top_actors.map((a) => [a.actor_id ?? "", a.count])} /></div>
      </div>
    </>,
    props,
  );
}
