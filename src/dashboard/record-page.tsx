import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { recordFromRow } from "../audit/chain/stored-row";
import { sealChecks } from "../audit/chain/seal-check";
import { recordById } from "../audit/read/store";
import { visibleRecord } from "../audit/read/routes";
import { loadAuditKeyring } from "../crypto/keys";
import type { AppEnv } from "../http/context";
import { auditView, urlId } from "./page-org";
import { recordProofOf, VerifyRecord } from "./record-proof";

type Json = Record<string, unknown> | null;
const show = (v: unknown) => (v === undefined ? "—" : JSON.stringify(v));

/** Before and after, field by field: what changed is struck out and inserted, the rest shown once. */
const StateDiff: FC<{ before: Json; after: Json }> = ({ before, after }) => {
  const keys = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])].sort();
  if (keys.length === 0) return <p>No state recorded.</p>;
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => {
            const [old, now] = [before?.[k], after?.[k]];
            const same = JSON.stringify(old) === JSON.stringify(now);
            return (
              <tr>
                <th scope="row">
                  <code>{k}</code> {!same && <span class="badge warn">changed</span>}
                </th>
                <td>{same ? <code>{show(old)}</code> : <del>{show(old)}</del>}</td>
                <td>{same ? <code>{show(now)}</code> : <ins>{show(now)}</ins>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
};

const SEAL_TEXT = {
  valid: "The row's HMAC matches its contents and its predecessor's hash.",
  invalid: "The row's HMAC does NOT match its contents: the row was altered after it was sealed.",
  unknown_key: "The row names a key this deployment does not hold; it cannot be checked here.",
} as const;

/** `/logs/:id`: one record with its diff, seal status and how to verify it offline. Viewing it is audited. */
export async function recordPage(c: Context<AppEnv>) {
  const id = urlId(c.req.param("id"));
  const caller = c.get("caller");
  const row = await visibleRecord(c, /^[0-9a-f-]{36}$/i.test(id) ? await recordById(c.get("db"), id) : undefined);
  const r = recordFromRow(row);
  const seal = r.row_hmac === null ? null : (await sealChecks(await loadAuditKeyring(c.env), [row]))[0]!;
  await auditView(c, r.organization_id, "audit_log", r.id, { view: "record" });
  const proof = r.seq === null ? null : await recordProofOf(c, r.organization_id, r.seq);
  const changes = Object.entries(r.changes ?? {}) as [string, { old?: unknown; new?: unknown }][];
  return c.render(
    <>
      <p>
        <a href={caller.role === "super_admin" ? `/logs?organization_id=${r.organization_id}` : "/logs"}>← Back to the log</a>
      </p>
      <h1>
        {r.action} · {r.resource_type}
      </h1>
      <dl>
        <dt>Record id</dt>
        <dd><code>{r.id}</code></dd>
        <dt>When (UTC)</dt>
        <dd>{r.timestamp} (recorded {r.recorded_at})</dd>
        <dt>Actor</dt>
        <dd><code>{r.actor_id}</code></dd>
        <dt>Resource</dt>
        <dd>{r.resource_type} <code>{r.resource_id ?? "—"}</code></dd>
        <dt>Status</dt>
        <dd><span class={`badge ${r.status === "success" ? "pass" : "fail"}`}>{r.status}</span></dd>
        <dt>Client</dt>
        <dd>{r.ip_address ?? "—"} · {r.user_agent ?? "—"}</dd>
      </dl>
      <h2>Changes</h2>
      {changes.length === 0 ? (
        <p>No field changes recorded.</p>
      ) : (
        <ul>
          {changes.map(([field, change]) => (
            <li>
              <code>{field}</code>: <del>{show(change.old)}</del> → <ins>{show(change.new)}</ins>
            </li>
          ))}
        </ul>
      )}
      <h2>State before and after</h2>
      <StateDiff before={r.previous_state} after={r.new_state} />
      <h2>Metadata</h2>
      <pre>{JSON.stringify(r.metadata, null, 2)}</pre>
      <h2>Seal</h2>
      {seal === null ? (
        <p><span class="badge warn">Unchained</span> Imported from an older system without a chain: validation counts it as unchained, never as broken.</p>
      ) : (
        <>
          <p>
            <span class={`badge ${seal === "valid" ? "pass" : "fail"}`}>{seal === "valid" ? "✓ Seal valid" : seal === "invalid" ? "✗ Seal broken" : "Key unknown"}</span>{" "}
            {SEAL_TEXT[seal]}
          </p>
          <dl>
            <dt>Seq</dt><dd>{r.seq}</dd>
            <dt>Key id</dt><dd><code>{r.key_id}</code></dd>
            <dt>prev_hash</dt><dd><code>{r.prev_hash ?? "(genesis)"}</code></dd>
            <dt>row_hmac</dt><dd><code>{r.row_hmac}</code></dd>
          </dl>
        </>
      )}
      {proof && <VerifyRecord recordId={r.id} proof={proof} />}
      {caller.role !== "member" && (
        <>
          <h2>Verify the whole log offline</h2>
          <p>
            Export the log as JSONL (Exports page) and save the export's answer, <code>GET /api/v1/audit/exports/&lt;id&gt;</code>, as{" "}
            <code>export.json</code>: it carries the signed tree head the file ends at. With{" "}
            <a href="/.well-known/jwks.json" download="jwks.json">the public keys</a>, no secret is needed:
          </p>
          <pre>{`npx chainproof verify-chain chainproof-export-<id>.jsonl --checkpoint export.json --jwks jwks.json`}</pre>
          <p>
            It names the first record that does not match; this record is seq {r.seq ?? "— (unchained)"} of its organization. An export that
            starts after seq 1 (after a retention prune) also needs its <code>compact_range</code> (<code>--compact-range</code>), and whoever holds
            the audit key can check every seal with <code>--key</code> as well (docs/verifying.md).
          </p>
        </>
      )}
    </>,
    { title: `Record ${r.id}`, caller, orgId: caller.role === "super_admin" ? r.organization_id : undefined, current: "logs" },
  );
}
