import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { isoNow } from "../../time";
import { exportsPastLife, type ExportRow, markExportsExpired } from "./store";

/**
 * How long a complete export's file is kept in R2 after it was finished. Longer than the longest
 * download link (MAX_LINK_SECONDS, 7 days), so a link handed out in the first weeks works to its end.
 */
export const EXPORT_LIFE_MS = 30 * 24 * 60 * 60 * 1000;

/** When a complete export's file goes (ms); null while it is not complete. */
export const endOfLife = (job: Pick<ExportRow, "completedAt">) => (job.completedAt === null ? null : Date.parse(job.completedAt) + EXPORT_LIFE_MS);

/** Gone already, or due to go: its download answers 410 even before the cron has deleted the file. */
export const pastItsLife = (job: Pick<ExportRow, "completedAt" | "expiredAt">, now: number) =>
  job.expiredAt !== null || (endOfLife(job) ?? Infinity) <= now;

/** Deletes the files of up to `limit` complete exports past their life and marks their rows; answers how many. */
export async function expireExports(env: Env, db: Database, now: number, limit: number) {
  const due = await exportsPastLife(db, isoNow(now - EXPORT_LIFE_MS), limit);
  if (due.length === 0) return 0;
  // The files go first: rows marked first would, after a crash in between, leave files nothing deletes.
  await env.ARCHIVE.delete(due.map((job) => job.r2Key));
  await markExportsExpired(db, due.map((job) => job.id), isoNow(now));
  return due.length;
}
