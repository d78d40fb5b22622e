import { checkpointNow, SCHEDULER } from "../audit/chain/append";
import { availableCheckpointSigner, newestCheckpoint } from "../audit/chain/checkpoints";
import { rowAtSeq } from "../audit/chain/store";
import { archiveBreak } from "../audit/integrity/archive-check";
import { recordValidationOutcome, type Validator } from "../audit/integrity/outcome";
import { type ValidationResult, validateOrganization } from "../audit/integrity/validate";
import { sha256Hex } from "../crypto/encoding";
import { type AuditKeyring, loadAuditKeyring } from "../crypto/keys";
import type { Database } from "../db/client";
import type { VALIDATION_KINDS } from "../db/schema";
import type { Env } from "../env";
import { organizationIdsFrom } from "../orgs/store";
import type { SecurityScope } from "../security/record";
import { isoNow } from "../time";
import { type CursorRow, insertValidationRun, lastFullRunAt, lastVerifiedSeq, readCursor, writeCursor } from "./validation-store";

export type ValidationKind = (typeof VALIDATION_KINDS)[number];

/**
 * What one invocation may do at most: rows walked (an organization costs at least one, so empty
 * ones are bounded too), organizations visited, and wall time. What is left, the next five-minute run does.
 */
export type PassLimits = { rows: number; organizations: number; wallMs: number };
export const DEFAULT_PASS_LIMITS: PassLimits = { rows: 200_000, organizations: 50, wallMs: 15_000 };

const JOB = "validation";
const FULL_PASS_EVERY_MS = 7 * 24 * 60 * 60 * 1000;
const SCHEDULED_VALIDATOR: Validator = { caller: SCHEDULER, client: { ipAddress: null, userAgent: null } };

/**
 * A full pass on Sundays (UTC) and whenever the last one is a week old; otherwise incremental
 * from the last verified seq. Without a verified point there is nothing to be incremental from.
 */
export function runKind(passStartedAt: string, lastFullAt: string | null, verifiedSeq: number | null): ValidationKind {
  if (verifiedSeq === null || lastFullAt === null) return "full";
  if (new Date(passStartedAt).getUTCDay() === 0) return "full";
  return Date.parse(passStartedAt) - Date.parse(lastFullAt) >= FULL_PASS_EVERY_MS ? "full" : "incremental";
}

/** The daily cron: a new pass over every organization, in id order, starting now. */
export async function startValidationPass(env: Env, scope: SecurityScope, now: number, limits = DEFAULT_PASS_LIMITS) {
  const started = isoNow(now);
  await writeCursor(scope.db, { job: JOB, passStartedAt: started, nextOrgId: null, nextStartId: null, nextKind: null, finishedAt: null, updatedAt: started });
  return continueValidationPass(env, scope, limits);
}

/** Every invocation (the daily one and each five-minute one) walks on from the pass's cursor, within `limits`. */
export async function continueValidationPass(env: Env, scope: SecurityScope, limits = DEFAULT_PASS_LIMITS) {
  const db = scope.db;
  const cursor = await readCursor(db, JOB);
  const done = { organizations: 0, rows: 0, finished: true };
  if (!cursor || cursor.finishedAt) return done;
  const began = Date.now();
  const keyring = await loadAuditKeyring(env);
  const orgIds = await organizationIdsFrom(db, cursor.nextOrgId, limits.organizations + 1);
  const saveCursor = (position: Pick<CursorRow, "nextOrgId" | "nextStartId" | "nextKind">) =>
    writeCursor(db, { ...cursor, ...position, updatedAt: isoNow() });

  for (const orgId of orgIds) {
    const resumes = orgId === cursor.nextOrgId && cursor.nextStartId !== null && cursor.nextKind !== null;
    if (done.organizations === limits.organizations || done.rows >= limits.rows || Date.now() - began >= limits.wallMs) {
      await saveCursor({ nextOrgId: orgId, nextStartId: resumes ? cursor.nextStartId : null, nextKind: resumes ? cursor.nextKind : null });
      return { ...done, finished: false };
    }
    const resume = resumes ? { startId: cursor.nextStartId!, kind: cursor.nextKind! } : null;
    const { result, kind } = await validateOnce(env, scope, keyring, orgId, cursor.passStartedAt, resume, limits.rows - done.rows);
    done.organizations++;
    done.rows += Math.max(1, result.checked);
    if (result.next_start_id) {
      // The row budget ran out inside this organization: the next invocation walks on from there.
      await saveCursor({ nextOrgId: orgId, nextStartId: result.next_start_id, nextKind: kind });
      return { ...done, finished: false };
    }
  }
  await writeCursor(db, { ...cursor, nextOrgId: null, nextStartId: null, nextKind: null, finishedAt: isoNow(), updatedAt: isoNow() });
  return done;
}

/** Where an incremental walk starts: the row after the last verified one, or that row again when none followed. */
async function incrementalStart(db: Database, orgId: string, verifiedSeq: number) {
  return ((await rowAtSeq(db, orgId, verifiedSeq + 1)) ?? (await rowAtSeq(db, orgId, verifiedSeq)))?.id;
}

/**
 * One run over one organization: the walk, its outcome audited (a break raises the alert), a
 * signed head, the evidence into R2, then the run into D1, so a stored run always has its evidence.
 */
async function validateOnce(
  env: Env,
  scope: SecurityScope,
  keyring: AuditKeyring,
  orgId: string,
  passStartedAt: string,
  resume: { startId: string; kind: ValidationKind } | null,
  rowLimit: number,
): Promise<{ result: ValidationResult; kind: ValidationKind }> {
  const db = scope.db;
  let kind = resume?.kind ?? "full";
  let startId = resume?.startId;
  if (!resume) {
    const verifiedSeq = await lastVerifiedSeq(db, orgId);
    kind = runKind(passStartedAt, await lastFullRunAt(db, orgId), verifiedSeq);
    if (kind === "incremental") startId = await incrementalStart(db, orgId, verifiedSeq!);
    // The verified rows are gone (cut or pruned): only a walk from genesis says what is left.
    if (startId === undefined) kind = "full";
  }
  const startedAt = isoNow();
  let result = await validateOrganization(env, db, keyring, orgId, { startId, limit: Math.max(1, rowLimit) });
  // A full pass that reached the head also checks, byte for byte, the archives retention pruned rows into.
  const archived = kind === "full" && result.complete ? await archiveBreak(env, db, keyring, orgId) : null;
  if (archived) result = { ...result, valid: false, complete: false, broken_at: null, broken_seq: archived.seq, broken_reason: archived.reason };
  await recordValidationOutcome(scope, SCHEDULED_VALIDATOR, result, { start_id: startId ?? null, end_id: null });
  // The head moved (at least by the chain_validate record): sign it, so a cut tail shows.
  if (await availableCheckpointSigner(env)) await checkpointNow(env, orgId);
  const id = crypto.randomUUID();
  const finishedAt = isoNow();
  const evidenceKey = `evidence/${orgId}/${id}.json`;
  const evidence = {
    run_id: id,
    organization_id: orgId,
    kind,
    started_at: startedAt,
    finished_at: finishedAt,
    checked: { from_seq: result.first_seq, to_seq: result.last_seq, rows: result.checked },
    result,
    head_checkpoint: await newestCheckpoint(env, db, orgId),
  };
  const evidenceBytes = new TextEncoder().encode(JSON.stringify(evidence));
  await env.ARCHIVE.put(evidenceKey, evidenceBytes, { httpMetadata: { contentType: "application/json" } });
  // The digest of the exact bytes stored binds the run (and the reports naming it) to its evidence.
  const evidenceSha256 = await sha256Hex(evidenceBytes);
  await insertValidationRun(db, { id, organizationId: orgId, kind, startedAt, finishedAt, result, evidenceKey, evidenceSha256 });
  return { result, kind };
}
