import { pruneOrganizationChain } from "../audit/retention/prune";
import { retentionCutoff, retentionEnforced, RETENTION_DAYS } from "../audit/retention/policy";
import { findOrganization } from "../auth/store";
import { loadAuditKeyring } from "../crypto/keys";
import type { Database } from "../db/client";
import type { Env } from "../env";
import { organizationIdsFrom } from "../orgs/store";
import { orgTier } from "../orgs/tier";
import type { SecurityScope } from "../security/record";
import { pruneSecurityEvents } from "../security/retention";
import { isoNow } from "../time";
import { OPTIMIZE_AFTER_ROWS } from "./upkeep";
import { optimizeQueryPlanner } from "./upkeep-store";
import { readCursor, writeCursor } from "./validation-store";

/** What one invocation may do at most; what is left, the next five-minute run does. */
export type RetentionLimits = { rows: number; organizations: number; wallMs: number };
export const DEFAULT_RETENTION_LIMITS: RetentionLimits = { rows: 100_000, organizations: 50, wallMs: 15_000 };

const JOB = "retention";

/** Events that belong to no organization (a failed login for an unknown user) are kept as long as the longest finite tier. */
const PLATFORM_EVENT_DAYS = RETENTION_DAYS.ENTERPRISE!;

/** The daily cron: a new retention pass over every organization, in id order. Nothing at all without ENFORCE_ORG_QUOTAS=true. */
export async function startRetentionPass(env: Env, scope: SecurityScope, now: number, limits = DEFAULT_RETENTION_LIMITS) {
  if (!retentionEnforced(env)) return { organizations: 0, rows: 0, finished: true };
  const started = isoNow(now);
  await writeCursor(scope.db, { job: JOB, passStartedAt: started, nextOrgId: null, nextStartId: null, nextKind: null, finishedAt: null, updatedAt: started });
  await pruneSecurityEvents(env, scope.db, null, isoNow(now - PLATFORM_EVENT_DAYS * 24 * 60 * 60 * 1000), limits.rows);
  return continueRetentionPass(env, scope, limits);
}

/**
 * Walks on from the pass's cursor: each organization's chain and security events by its tier's
 * cutoff, measured from when the pass started, so a pass spread over invocations prunes by one rule.
 */
export async function continueRetentionPass(env: Env, scope: SecurityScope, limits = DEFAULT_RETENTION_LIMITS) {
  const db = scope.db;
  const done = { organizations: 0, rows: 0, finished: true };
  const cursor = await readCursor(db, JOB);
  if (!retentionEnforced(env) || !cursor || cursor.finishedAt) return done;
  const began = Date.now();
  const keyring = await loadAuditKeyring(env);
  const passNow = Date.parse(cursor.passStartedAt);
  const saveCursor = (nextOrgId: string | null, finishedAt: string | null) =>
    writeCursor(db, { ...cursor, nextOrgId, finishedAt, updatedAt: isoNow() });

  for (const orgId of await organizationIdsFrom(db, cursor.nextOrgId, limits.organizations + 1)) {
    if (done.organizations === limits.organizations || done.rows >= limits.rows || Date.now() - began >= limits.wallMs) {
      await saveCursor(orgId, null);
      return afterDeletes(db, { ...done, finished: false });
    }
    const org = await findOrganization(db, orgId);
    const tierCutoff = org ? retentionCutoff(orgTier(org.settings), passNow) : null;
    // Never what this invocation wrote itself (its retention_prune records), even when the pass's
    // scheduled time runs ahead of the clock.
    const cutoff = tierCutoff === null ? null : tierCutoff < isoNow(began) ? tierCutoff : isoNow(began);
    done.organizations++;
    if (cutoff === null) continue;
    let chainDone = true;
    try {
      const chain = await pruneOrganizationChain(scope, keyring, orgId, cutoff, { rows: limits.rows - done.rows, until: began + limits.wallMs });
      done.rows += chain.rows;
      chainDone = chain.done;
      done.rows += await pruneSecurityEvents(env, db, orgId, cutoff, Math.max(0, limits.rows - done.rows));
    } catch (err) {
      // One organization's failure must not stop the others; its open prune resumes on the next pass.
      console.error(`retention of organization ${orgId} failed: ${err instanceof Error ? err.message : "error"}`);
      continue;
    }
    if (!chainDone || done.rows >= limits.rows) {
      // The budget ran out inside this organization: the next invocation starts with it again.
      await saveCursor(orgId, null);
      return afterDeletes(db, { ...done, finished: false });
    }
  }
  await saveCursor(null, isoNow());
  return afterDeletes(db, done);
}

/** Large deletes leave the query planner's statistics stale; refresh them as upkeep does. */
async function afterDeletes<T extends { rows: number }>(db: Database, done: T) {
  if (done.rows >= OPTIMIZE_AFTER_ROWS) await optimizeQueryPlanner(db);
  return done;
}
