import type { Context } from "hono";
import type { AppEnv, Caller } from "../../http/context";
import { BOOKMARK_HEADER, clientInfo } from "../../http/context";
import type { Env } from "../../env";
import { AppError, conflict, unauthorized } from "../../http/errors";
import { idempotencyKeyReused } from "../../http/idempotency";
import { isoNow } from "../../time";
import { SYSTEM_ACTOR_ID } from "./seal";
import { OWN_RECORD_SOURCE } from "./walker";
import type { AuditAction, ResourceType } from "./enums";
import type { AppendOutcome, AppendRequest, OrgChain, SqlEffect } from "./org-chain";
import type { PendingRecord } from "./record";

/** The organization's chain object. Env leaves the namespace untyped so that it need not import the class. */
export const chainOf = (env: Env, orgId: string) => env.ORG_CHAIN.get(env.ORG_CHAIN.idFromName(orgId)) as DurableObjectStub<OrgChain>;

/** Signs the organization's head now through its chain object; a tree head the witness refutes is a 409. */
export async function checkpointNow(env: Env, orgId: string) {
  const outcome = await chainOf(env, orgId).checkpointNow(orgId);
  if (!outcome.ok) throw new AppError(409, outcome.code, `The signed tree head was refused: ${outcome.message}`);
  return outcome.checkpoint;
}

/** Appends through the organization's Durable Object, the only writer of its chain. */
export async function appendToChain(env: Env, request: AppendRequest): Promise<Extract<AppendOutcome, { ok: true }>> {
  let outcome: AppendOutcome;
  try {
    outcome = await chainOf(env, request.organizationId).append(request);
  } catch {
    // The object was reset mid-call: the records may or may not have landed, never twice.
    throw new AppError(503, "append_interrupted", "The append was interrupted; retry it with the same Idempotency-Key", { headers: {
      "Retry-After": "1",
    } });
  }
  if (outcome.ok) return outcome;
  if (outcome.code === "idempotency_mismatch") {
    throw idempotencyKeyReused(outcome.message);
  }
  if (outcome.code === "conflict") throw conflict(outcome.message);
  if (outcome.code === "unauthorized") throw unauthorized(outcome.message);
  if (outcome.code === "interrupted") throw new AppError(503, "append_interrupted", outcome.message, { headers: { "Retry-After": "1" } });
  throw new AppError(503, "append_failed", outcome.message);
}

/** Answers a write with its D1 bookmark (reads that send it back see the write) and marks replays. */
export function announceWrite(c: Context<AppEnv>, outcome: { replayed: boolean; bookmark: string | null }) {
  if (outcome.bookmark) c.header(BOOKMARK_HEADER, outcome.bookmark);
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
}

type SelfAudit = {
  action: AuditAction;
  resourceType: ResourceType;
  resourceId: string | null;
  previousState?: Record<string, unknown> | null;
  newState?: Record<string, unknown> | null;
  changes?: Record<string, { old: unknown; new: unknown }> | null;
  metadata?: Record<string, unknown>;
};

/** Who a self-audit record names: a caller of the API, or the scheduler (no request, no credentials). */
export type Actor = Pick<Caller, "actorId" | "role"> & { via: Caller["via"] | "scheduler" };

/** The cron jobs act as chainproof itself. */
export const SCHEDULER: Actor = { actorId: SYSTEM_ACTOR_ID, role: "super_admin", via: "scheduler" };

export function selfAuditRecord(caller: Actor, orgId: string, client: ReturnType<typeof clientInfo>, audit: SelfAudit): PendingRecord {
  return {
    id: crypto.randomUUID(),
    organization_id: orgId,
    site_id: null,
    actor_id: caller.actorId,
    action: audit.action,
    resource_type: audit.resourceType,
    resource_id: audit.resourceId,
    status: "success",
    ip_address: client.ipAddress,
    user_agent: client.userAgent?.slice(0, 512) ?? null,
    changes: audit.changes ?? null,
    previous_state: audit.previousState ?? null,
    new_state: audit.newState ?? null,
    metadata: { source: OWN_RECORD_SOURCE, via: caller.via, role: caller.role, ...audit.metadata },
    timestamp: isoNow(),
  };
}

/**
 * chainproof's own privileged actions: the change (`effects`) and its audit record commit in one
 * D1 batch, so neither exists without the other. Answers the whole outcome (its receipt included),
 * for a route that answers as an append; commitAudited answers the record alone.
 */
export async function appendAudited(
  c: Context<AppEnv>,
  orgId: string,
  audit: SelfAudit,
  effects: SqlEffect[] = [],
  options: Pick<AppendRequest, "tokensChanged"> = {},
) {
  const record = selfAuditRecord(c.get("caller"), orgId, clientInfo(c), audit);
  const outcome = await appendToChain(c.env, { organizationId: orgId, records: [record], effects, ...options });
  announceWrite(c, outcome);
  return outcome;
}

export const commitAudited = async (...args: Parameters<typeof appendAudited>) => (await appendAudited(...args)).records[0]!;

/** `{field: {old, new}}` for every top-level field whose value differs: the `changes` of a self-audit record. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>) {
  const changes: Record<string, { old: unknown; new: unknown }> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changes[key] = { old: before[key] ?? null, new: after[key] ?? null };
  }
  return changes;
}
