import type { Context } from "hono";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "../audit/chain/enums";
import { BulkExportBody, describeExport, requestBulkExport } from "../audit/export/bulk-routes";
import { DEFAULT_LINK_SECONDS } from "../audit/export/download-links";
import { listExports } from "../audit/export/store";
import type { AppEnv } from "../http/context";
import { AppError, type FieldError } from "../http/errors";
import { listOrganizations } from "../orgs/store";
import { FieldErrors, OrgPicker } from "./components";
import { formBody, listOf, parseWith } from "./form-input";
import { CsrfField } from "./layout";
import { pageOrganization } from "./page-org";

const ADMINS = ["org_admin", "super_admin"] as const;

/** `/exports`: request an uncapped export (built in the background into R2), its progress, and its signed download link. */
export async function exportsPage(c: Context<AppEnv>, errors: FieldError[] = []) {
  const caller = c.get("caller");
  const org = await pageOrganization(c, ADMINS);
  if (!org) {
    const picker = <OrgPicker orgs={await listOrganizations(c.get("db"))} path="/exports" />;
    return c.render(<><FieldErrors errors={errors} />{picker}</>, { title: "Exports", caller, current: "exports" });
  }
  const jobs = await Promise.all((await listExports(c.get("db"), org.id)).map((job) => describeExport(c, job, DEFAULT_LINK_SECONDS)));
  const here = caller.role === "super_admin" ? `/exports?organization_id=${org.id}` : "/exports";
  return c.render(
    <>
      <h1>Exports</h1>
      <FieldErrors errors={errors} />
      <h2>Request an export</h2>
      <p>Every matching record, without the 10,000 cap, in chain order. JSONL keeps every chain field, so <code>npx chainproof verify-chain</code> can verify it offline.</p>
      <form class="filters" method="post" action={caller.role === "super_admin" ? `/exports?organization_id=${org.id}` : "/exports"}>
        <CsrfField caller={caller} />
        <input type="hidden" name="organization_id" value={org.id} />
        <label>Format <select name="format"><option value="jsonl">JSONL</option><option value="csv">CSV</option></select></label>
        <label>From <input type="date" name="start_date" /></label>
        <label>To <input type="date" name="end_date" /></label>
        <label>Action <select name="actions"><option value="">any</option>{AUDIT_ACTIONS.map((a) => <option value={a}>{a}</option>)}</select></label>
        <label>Resource type <select name="resource_types"><option value="">any</option>{RESOURCE_TYPES.map((r) => <option value={r}>{r}</option>)}</select></label>
        <button type="submit">Request export</button>
      </form>
      <h2>Exports of {org.name}</h2>
      <p><a href={here}>Refresh progress</a></p>
      <div class="scroll">
        <table>
          <thead>
            <tr><th scope="col">Requested</th><th scope="col">Format</th><th scope="col">Status</th><th scope="col">Rows</th><th scope="col">Size</th><th scope="col">Download</th></tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr>
                <td>{job.created_at}</td>
                <td>{job.format}</td>
                <td>
                  <span class={`badge ${job.status === "complete" ? "pass" : job.status === "failed" ? "fail" : "warn"}`}>{job.status}</span>
                  {job.error && <small> {job.error}</small>}
                </td>
                <td>{job.row_count}</td>
                <td>{job.bytes} bytes</td>
                <td>
                  {job.download_url ? (
                    <>
                      <a href={job.download_url}>Download</a> <small>(link valid until {job.download_expires_at}; SHA-256 <code>{job.sha256}</code>)</small>
                    </>
                  ) : (
                    "not ready"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>,
    { title: `Exports · ${org.name}`, caller, orgId: org.id, current: "exports" },
  );
}

/** POST /exports: the same request as the API's (audited, slot-limited); then back to the list. */
export async function requestExport(c: Context<AppEnv>) {
  const form = await formBody(c);
  const input = { ...form, actions: listOf(form.actions), resource_types: listOf(form.resource_types) };
  const parsed = parseWith(BulkExportBody, input);
  if (!parsed.ok) {
    c.status(422);
    return exportsPage(c, parsed.errors);
  }
  try {
    await requestBulkExport(c, parsed.value);
  } catch (err) {
    if (!(err instanceof AppError) || err.status !== 429) throw err;
    c.status(429);
    return exportsPage(c, [{ field: "export", message: err.message }]);
  }
  const orgId = parsed.value.organization_id;
  return c.redirect(c.get("caller").role === "super_admin" ? `/exports?organization_id=${orgId}` : "/exports", 303);
}
