import type { Tier } from "../../db/schema";

/** Days each tier keeps its audit log and security events (docs/operations.md, "Retention"); null keeps them for ever. */
export const RETENTION_DAYS: Record<Tier, number | null> = {
  FREE: 7,
  STARTER: 30,
  PROFESSIONAL: 90,
  ENTERPRISE: 365,
  UNLIMITED: null,
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** Rows recorded before this instant are due for pruning; null when the tier keeps everything. */
export function retentionCutoff(tier: Tier, now: number): string | null {
  const days = RETENTION_DAYS[tier];
  return days === null ? null : new Date(now - days * DAY_MS).toISOString();
}

/** Whether the deployment prunes at all: only `ENFORCE_ORG_QUOTAS=true` turns it on. */
export const retentionEnforced = (env: { ENFORCE_ORG_QUOTAS?: string }) => env.ENFORCE_ORG_QUOTAS === "true";

/** What the next prune may take, as the chain holds it: a row's seq, when it was recorded and its stored size. */
export type PruneCandidate = { seq: number; recordedAt: string; bytes: number };

/**
 * The last seq of the next prune (docs/operations.md, "Retention": the longest prefix by seq recorded before the
 * cutoff), taken from `candidates` (rows from `from` on, by seq) and bounded by `maxBytes` so one
 * archive fits a Worker's memory; null when nothing is due. A missing seq ends the prefix: the
 * walk that archives it reports the gap.
 */
export function pruneThrough(candidates: readonly PruneCandidate[], from: number, cutoff: string, maxBytes: number): number | null {
  let through: number | null = null;
  let bytes = 0;
  for (const [i, row] of candidates.entries()) {
    if (row.seq !== from + i || row.recordedAt >= cutoff) break;
    bytes += row.bytes;
    if (through !== null && bytes > maxBytes) break;
    through = row.seq;
  }
  return through;
}
