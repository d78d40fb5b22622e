import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { signedReport } from "../compliance/report-routes";
import type { ComplianceReport } from "../compliance/schemas";
import type { AppEnv } from "../http/context";
import { listValidationRuns } from "../ops/validation-store";
import { Mark } from "./components";
import { OrgTabs } from "./org-tabs";
import { urlId } from "./page-org";
import { RunSummary } from "./validation-run";

const ServicesTable: FC<{ report: ComplianceReport }> = ({ report }) => (
  <div class="scroll">
    <table>
      <caption>Services ({report.service_count})</caption>
      <thead>
        <tr>
          <th scope="col">Service</th>
          <th scope="col">Zones</th>
          <th scope="col">EU residency</th>
          <th scope="col">Encrypted at rest</th>
          <th scope="col">TLS in transit</th>
          <th scope="col">Backups</th>
        </tr>
      </thead>
      <tbody>
        {report.services.map((s) => (
          <tr>
            <th scope="row">
              {s.name} <code>{s.service_id}</code>
              <br />
              <small>
                {s.database_type} {s.version} · {s.status}
              </small>
            </th>
            <td>
              {s.zones.join(", ")} ({s.region}); storage {s.storage_region}
            </td>
            <td><Mark ok={s.eu_residency} yes="EU" no="Not EU" /></td>
            <td><Mark ok={s.storage_encrypted} /></td>
            <td><Mark ok={s.tls_enabled} /></td>
            <td>
              <Mark ok={s.backups.schedule_enabled && s.backup_encryption_enabled} yes="Scheduled, encrypted" no={s.backups.schedule_enabled ? "Not encrypted" : "Not scheduled"} />
              <br />
              <small>
                last {s.backups.last_completed_at ?? "never"}
                {s.backups.last_backup_type && ` (${s.backups.last_backup_type})`}; kept {s.backups.retention_days ?? "?"} days
              </small>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

/**
 * `/orgs/:orgId/compliance`: the report assembled, signed and audited by the same call as the API
 * route, rendered; "Download signed JSON" is that route itself, so the file is the API's bytes.
 */
export async function compliancePage(c: Context<AppEnv>) {
  const caller = c.get("caller");
  const { org, report } = await signedReport(c, urlId(c.req.param("orgId")));
  const [lastRun] = await listValidationRuns(c.get("db"), org.id, 1);
  const log = report.audit_log;
  return c.render(
    <>
      <h1>{org.name}</h1>
      <OrgTabs caller={caller} orgId={org.id} current="compliance" />
      <h2>Compliance report</h2>
      <p>
        Generated {report.generated_at}.{" "}
        <a href={`/organizations/${org.id}/compliance-report`} download={`compliance-report-${org.id}.json`}>
          <strong>Download signed JSON</strong>
        </a>{" "}
        — verify it offline with{" "}
        {log.tail_protected ? (
          <>
            <code>npx chainproof verify-report FILE --key KEY --jwks jwks.json</code> (the organization's verification key, from{" "}
            <code>GET /api/v1/organizations/{org.id}/compliance-report/verification-key</code>, org_admin; the public keys, from{" "}
            <code>GET /.well-known/jwks.json</code>, which check the report's attestation).
          </>
        ) : (
          <>
            <code>npx chainproof verify-report FILE --key KEY</code> (the organization's verification key, from{" "}
            <code>GET /api/v1/organizations/{org.id}/compliance-report/verification-key</code>, org_admin). This deployment signs no
            attestation, so the file shows only that a holder of that key made it.
          </>
        )}
      </p>
      <h3>At a glance</h3>
      <ul>
        <li>All services in the EU: <Mark ok={report.all_services_eu_residency} yes="Yes" no="No" /></li>
        <li>Encryption at rest, every service: <Mark ok={report.services.every((s) => s.storage_encrypted)} /></li>
        <li>Encryption in transit (TLS), every service: <Mark ok={report.services.every((s) => s.tls_enabled)} /></li>
        <li>Encrypted, scheduled backups, every service: <Mark ok={report.services.every((s) => s.backups.schedule_enabled && s.backup_encryption_enabled)} /></li>
      </ul>
      <ServicesTable report={report} />
      <h3>Audit-log coverage</h3>
      <dl>
        <dt>Entries</dt>
        <dd>{log.entry_count} (seq {log.first_seq ?? "—"} to {log.head_seq ?? "—"}; {log.unchained_count} unchained)</dd>
        <dt>Oldest entry</dt>
        <dd>{log.oldest_entry_at ?? "—"}</dd>
        <dt>Retention</dt>
        <dd>{log.retention_policy}{log.retention_enforced ? "" : " (not enforced on this deployment)"}</dd>
        <dt>Pruned into archives</dt>
        <dd>{log.pruned_count > 0 ? `${log.pruned_count} rows, through seq ${log.pruned_through_seq}` : "none"}</dd>
        <dt>Tail protected by signed checkpoints</dt>
        <dd><Mark ok={log.tail_protected} yes="Yes" no="No" /></dd>
        <dt>Last checkpoint</dt>
        <dd>{log.last_checkpoint ? `seq ${log.last_checkpoint.seq}, issued ${log.last_checkpoint.issued_at} (key ${log.last_checkpoint.kid})` : "none yet"}</dd>
        <dt>Last scheduled validation</dt>
        <dd><RunSummary run={lastRun} /></dd>
      </dl>
    </>,
    { title: `Compliance · ${org.name}`, caller, orgId: caller.role === "super_admin" ? org.id : undefined, current: "org" },
  );
}
