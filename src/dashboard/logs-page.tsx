import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "../audit/chain/enums";
import type { AuditRecord } from "../audit/chain/record";
import { LogQuery } from "../audit/read/filters";
import { paged } from "../audit/read/routes";
import type { Caller, AppEnv } from "../http/context";
import { listOrganizations } from "../orgs/store";
import { FieldErrors, OrgPicker, Pager, queryOf } from "./components";
import { formQuery, parseWith } from "./form-input";
import { CsrfField } from "./layout";
import { auditView, pageOrganization } from "./page-org";

type Filters = Record<string, string | string[]>;
const value = (f: Filters, key: string) => (typeof f[key] === "string" ? (f[key] as string) : "");
const chosen = (f: Filters, key: string) => new Set(typeof f[key] === "string" ? [f[key] as string] : ((f[key] as string[] | undefined) ?? []));

const Select: FC<{ name: string; label: string; options: readonly string[]; filters: Filters }> = ({ name, label, options, filters }) => (
  <label>
    {label}
    <select name={name}>
      <option value="">any</option>
      {options.map((o) => (
        <option value={o} selected={chosen(filters, name).has(o)}>
          {o}
        </option>
      ))}
    </select>
  </label>
);

const FilterForm: FC<{ filters: Filters; caller: Caller; orgId: string }> = ({ filters, caller, orgId }) => (
  <form class="filters" method="get" action="/logs" role="search" aria-label="Filter the log">
    {caller.role === "super_admin" && <input type="hidden" name="organization_id" value={orgId} />}
    <Select name="status" label="Status" options={["success", "failure"]} filters={filters} />
    <label>
      From <input type="date" name="start_date" value={value(filters, "start_date").slice(0, 10)} />
    </label>
    <label>
      To <input type="date" name="end_date" value={value(filters, "end_date").slice(0, 10)} />
    </label>
    <Select name="action" label="Action" options={AUDIT_ACTIONS} filters={filters} />
    <Select name="resource_type" label="Resource type" options={RESOURCE_TYPES} filters={filters} />
    {caller.role !== "member" && (
      <label>
        Actor id <input name="actor_id" value={value(filters, "actor_id")} size={36} />
      </label>
    )}
    <label>
      Search metadata <input type="search" name="search" value={value(filters, "search")} maxlength={128} />
    </label>
    <button type="submit">Apply filters</button> <a href={caller.role === "super_admin" ? `/logs?organization_id=${orgId}` : "/logs"}>Clear</a>
  </form>
);

/** The capped export of the current date, action and resource-type filters (the export contract takes those). */
const ExportForm: FC<{ filters: Filters; caller: Caller; orgId: string }> = ({ filters, caller, orgId }) => (
  <form method="post" action="/logs/export" aria-label="Export">
    <CsrfField caller={caller} />
    <input type="hidden" name="organization_id" value={orgId} />
    {["start_date", "end_date"].map((k) => value(filters, k) && <input type="hidden" name={k} value={value(filters, k)} />)}
    {[...chosen(filters, "action")].map((a) => <input type="hidden" name="actions" value={a} />)}
    {[...chosen(filters, "resource_type")].map((r) => <input type="hidden" name="resource_types" value={r} />)}
    <label class="inline">
      Format{" "}
      <select name="format">
        <option value="csv">CSV</option>
        <option value="json">JSON</option>
      </select>
    </label>{" "}
    <button type="submit">Export (up to 10,000 records)</button>
    <p>
      <small>The export covers the date range, action and resource type shown above, newest first. Larger exports: the Exports page.</small>
    </p>
  </form>
);

const LogTable: FC<{ items: AuditRecord[] }> = ({ items }) => (
  <div class="scroll">
    <table>
      <caption class="skip">Audit records, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Time (UTC)</th>
          <th scope="col">Action</th>
          <th scope="col">Resource</th>
          <th scope="col">Actor</th>
          <th scope="col">Status</th>
          <th scope="col">Seq</th>
        </tr>
      </thead>
      <tbody>
        {items.map((r) => (
          <tr>
            <td>
              <a href={`/logs/${r.id}`}>{r.timestamp.replace("T", " ").slice(0, 19)}</a>
            </td>
            <td>{r.action}</td>
            <td>
              {r.resource_type} {r.resource_id && <code>{r.resource_id}</code>}
            </td>
            <td>
              <code>{r.actor_id}</code>
            </td>
            <td>
              <span class={`badge ${r.status === "success" ? "pass" : "fail"}`}>{r.status}</span>
            </td>
            <td>{r.seq ?? "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

/** `/logs`: an org_admin's (or a chosen organization's) log; a member's own history. Each view is audited. */
export async function logsPage(c: Context<AppEnv>) {
  const caller = c.get("caller");
  const org = await pageOrganization(c, ["member", "org_admin", "super_admin"]);
  const title = caller.role === "member" ? "My history" : "Audit log";
  if (!org) return c.render(<OrgPicker orgs={await listOrganizations(c.get("db"))} path="/logs" />, { title, caller, current: "logs" });

  const filters = formQuery(c);
  const props = { title: `${title} · ${org.name}`, caller, orgId: org.id, current: "logs" };
  const parsed = parseWith(LogQuery, caller.role === "member" ? { ...filters, actor_id: undefined } : filters);
  if (!parsed.ok) {
    c.status(422);
    return c.render(
      <>
        <h1>{title}</h1>
        <FieldErrors errors={parsed.errors} />
        <FilterForm filters={filters} caller={caller} orgId={org.id} />
      </>,
      props,
    );
  }
  const q = parsed.value;
  const logFilters = {
    organizationId: org.id,
    startDate: q.start_date,
    endDate: q.end_date,
    actions: q.action,
    resourceTypes: q.resource_type,
    resourceId: q.resource_id,
    // A member's history is the records it acted in (README.md, "Reading the log").
    actorId: caller.role === "member" ? caller.actorId : q.actor_id,
    status: q.status,
    search: q.search,
    siteId: q.site_id,
  };
  const result = await paged(c, logFilters, q.page, q.per_page);
  await auditView(c, org.id, "audit_log", null, { view: "logs", filters: { ...filters, page: q.page } });
  const { page: _page, ...kept } = filters;
  return c.render(
    <>
      <h1>{title}</h1>
      <FilterForm filters={filters} caller={caller} orgId={org.id} />
      {caller.role !== "member" && <ExportForm filters={filters} caller={caller} orgId={org.id} />}
      <LogTable items={result.items} />
      <Pager path="/logs" query={queryOf(kept)} page={q.page} pages={result.pages} total={result.total} totalExact={result.total_exact} />
    </>,
    props,
  );
}
