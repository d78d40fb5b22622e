import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { Checkpoint } from "../audit/chain/checkpoint-statement";
import { listCheckpoints, newestCheckpoint } from "../audit/chain/checkpoints";
import { validateOne } from "../audit/integrity/routes";
import { DEFAULT_VALIDATE_LIMIT, type ValidationResult } from "../audit/integrity/validate";
import type { AppEnv, Caller } from "../http/context";
import { listValidationRuns } from "../ops/validation-store";
import { listOrganizations, type Organization } from "../orgs/store";
import { Mark } from "./components";
import { formBody } from "./form-input";
import { CsrfField } from "./layout";
import { urlId } from "./page-org";
import { RunSummary } from "./validation-run";

const CHECKPOINTS_SHOWN = 3;

const SignedHead: FC<{ head: Checkpoint | null }> = ({ head }) =>
  head ? (
    <details>
      <summary>
        Signed checkpoint at seq {head.seq}, issued {head.issued_at} (Ed25519 key {head.kid})
      </summary>
      <p>Statement (the exact JCS text that was signed):</p>
      <pre>{head.statement}</pre>
      <p>Signature: <code>{head.signature}</code></p>
    </details>
  ) : (
    <span class="badge warn">No signed checkpoint yet</span>
  );

const OrgIntegrity: FC<{ org: Organization; caller: Caller; head: Checkpoint | null; checkpoints: Checkpoint[]; run: Parameters<typeof RunSummary>[0]["run"] }> = (p) => (
  <section aria-labelledby={`org-${p.org.id}`}>
    <h2 id={`org-${p.org.id}`}>{p.org.name}</h2>
    <dl>
      <dt>Last scheduled validation</dt>
      <dd><RunSummary run={p.run} /></dd>
      <dt>Signed head</dt>
      <dd><SignedHead head={p.head} /></dd>
      <dt>Recent checkpoints</dt>
      <dd>{p.checkpoints.length === 0 ? "none" : p.checkpoints.map((cp) => `seq ${cp.seq} (${cp.kind}, ${cp.issued_at})`).join(" · ")}</dd>
    </dl>
    <form method="post" action={`/integrity/${p.org.id}/validate`}>
      <CsrfField caller={p.caller} />
      <button type="submit">Validate {p.org.name} now</button>
    </form>
  </section>
);

/**
 * A walk checks at most DEFAULT_VALIDATE_LIMIT rows. A longer chain goes on from where it stopped
 * (its next_start_id, as the API pages): running it again from genesis would check the same rows.
 */
export const ResultNotice: FC<{ result: ValidationResult; caller: Caller }> = ({ result, caller }) => (
  <div class={result.valid ? "notice" : "error"} role="status">
    <p>
      <Mark ok={result.valid} yes="Chain valid" no="Chain broken" /> {result.checked} rows checked, {result.unchained} unchained
      {result.valid ? "" : ` — first break at ${result.broken_at} (seq ${result.broken_seq ?? "?"}): ${result.broken_reason}`}
      {result.next_start_id ? " — more rows remain." : "."}
    </p>
    {result.next_start_id && (
      <form method="post" action={`/integrity/${result.organization_id}/validate`}>
        <CsrfField caller={caller} />
        <input type="hidden" name="start_id" value={result.next_start_id} />
        <button type="submit">Continue from seq {(result.last_seq ?? 0) + 1}</button>
      </form>
    )}
  </div>
);

/**
 * `/integrity` (super_admin): per organization the last scheduled validation, the checkpoints and
 * the newest signed checkpoint as its signed head, and "validate now".
 */
export async function integrityPage(c: Context<AppEnv>, result?: ValidationResult) {
  const caller = c.get("caller");
  const db = c.get("db");
  const orgs = await listOrganizations(db);
  const rows = await Promise.all(
    orgs.map(async (org) => ({
      org,
      head: await newestCheckpoint(c.env, db, org.id),
      checkpoints: await listCheckpoints(db, org.id, CHECKPOINTS_SHOWN),
      run: (await listValidationRuns(db, org.id, 1))[0],
    })),
  );
  return c.render(
    <>
      <h1>Integrity</h1>
      {result && <ResultNotice result={result} caller={caller} />}
      <p class="notice">
        The signed head shown is each organization's newest signed checkpoint (an Ed25519 signature over its chain head). Each
        checkpoint also signs a tree head of the organization's Merkle tree: a record's page shows its inclusion proof against it.
      </p>
      {rows.map((r) => <OrgIntegrity {...r} caller={caller} />)}
    </>,
    { title: "Integrity", caller, current: "integrity" },
  );
}

/** POST /integrity/:orgId/validate: the API's walk of one organization (audited as chain_validate), from `start_id` when continuing, then its result. */
export async function validateNow(c: Context<AppEnv>) {
  const form = await formBody(c);
  const startId = typeof form.start_id === "string" ? urlId(form.start_id) : undefined;
  const result = await validateOne(c, urlId(c.req.param("orgId")), { start_id: startId, limit: DEFAULT_VALIDATE_LIMIT });
  return integrityPage(c, result);
}
