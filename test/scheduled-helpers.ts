import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../src/index";
import { appendBatch, createTenant, recordBody, sql } from "./helpers";

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `n` organization ids in a block of their own high in the id space, ascending: a pass seeded at
 * the first meets no other test's organizations before the block ends (only validate-all's
 * fe/ff blocks sort after it; other tests use random ids).
 */
export function blockIds(n: number) {
  const run = crypto.randomUUID().slice(0, 6);
  return Array.from({ length: n }, (_, i) => `ffffffff-ffff-4fff-bfff-fc${run}${i.toString(16).padStart(4, "0")}`);
}

/** A scheduled day that is not a Sunday (Sundays are full passes by rule). */
export const weekday = (t: number) => (new Date(t).getUTCDay() === 0 ? t - DAY_MS : t);

/** A daily pass as the 03:17 cron starts it, but beginning at `firstOrgId` instead of the first organization. */
export const seedPass = (firstOrgId: string, passStartedAt: number) =>
  sql(
    "INSERT OR REPLACE INTO scheduled_cursors (job, pass_started_at, next_org_id, next_start_id, next_kind, finished_at, updated_at) VALUES ('validation', ?1, ?2, NULL, NULL, NULL, ?1)",
    new Date(passStartedAt).toISOString(),
    firstOrgId,
  );

export const passFinished = async () =>
  (await env.DB.prepare("SELECT finished_at FROM scheduled_cursors WHERE job = 'validation'").first<{ finished_at: string | null }>())?.finished_at != null;

/** The five-minute cron, run until the seeded pass is done. */
export async function runPass(firstOrgId: string, passStartedAt = weekday(Date.now())) {
  await seedPass(firstOrgId, passStartedAt);
  for (let i = 0; i < 20 && !(await passFinished()); i++) {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
  }
  expect(await passFinished()).toBe(true);
}

export const runsOf = async (orgId: string) =>
  (await env.DB.prepare("SELECT * FROM validation_runs WHERE organization_id = ? ORDER BY started_at, rowid").bind(orgId).all<Record<string, any>>()).results.map(
    (r): Record<string, any> => ({ ...r, result: JSON.parse(r.result) }),
  );

export async function orgWithRows(id: string, n: number) {
  const tenant = await createTenant("PROFESSIONAL", id);
  if (n > 0) expect((await appendBatch(tenant.ingest.as, Array.from({ length: n }, (_, i) => recordBody({ metadata: { i } })))).status).toBe(201);
  return tenant;
}
