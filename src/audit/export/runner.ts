import { DurableObject } from "cloudflare:workers";
import { database } from "../../db/client";
import type { Env } from "../../env";
import { isoNow } from "../../time";
import { advanceExport } from "./job";
import { findExport, stalledExports, updateExport } from "./store";

const MAX_FAILURES = 5;

/**
 * Drives one uncapped export in the background: each alarm does a bounded slice of work and
 * schedules the next, so no single invocation nears the platform's CPU, memory or query limits.
 * The export's progress lives in D1, so an evicted or restarted runner resumes where it was.
 */
export class ExportRunner extends DurableObject<Env> {
  async start(exportId: string) {
    await this.ctx.storage.put("export_id", exportId);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm() {
    const exportId = await this.ctx.storage.get<string>("export_id");
    if (!exportId) return;
    const db = database(this.env.DB);
    const job = await findExport(db, exportId);
    if (!job || (job.status !== "pending" && job.status !== "running")) return;
    try {
      if ((await advanceExport(this.env, db, job)) === "more") await this.ctx.storage.setAlarm(Date.now());
      await this.ctx.storage.delete("failures");
    } catch (err) {
      const failures = ((await this.ctx.storage.get<number>("failures")) ?? 0) + 1;
      await this.ctx.storage.put("failures", failures);
      console.error(`export ${exportId} slice failed (${failures}/${MAX_FAILURES}): ${err instanceof Error ? err.name : "error"}`);
      if (failures < MAX_FAILURES) {
        await this.ctx.storage.setAlarm(Date.now() + 1000 * 2 ** failures);
      } else {
        await updateExport(db, exportId, { status: "failed", error: "The export could not be completed", updatedAt: isoNow() });
        if (job.uploadId) await this.env.ARCHIVE.resumeMultipartUpload(job.r2Key, job.uploadId).abort().catch(() => undefined);
      }
    }
  }
}

/** The export's runner object. Env leaves the namespace untyped so that it need not import the class. */
export const exportRunnerOf = (env: Env, exportId: string) =>
  env.EXPORT_RUNNER.get(env.EXPORT_RUNNER.idFromName(exportId)) as DurableObjectStub<ExportRunner>;

const STALL_MS = 10 * 60 * 1000;

/** Safety net for the cron: an export whose runner has not moved for 10 minutes gets its alarm set again. */
export async function resumeStalledExports(env: Env, now: number) {
  for (const { id } of await stalledExports(database(env.DB), isoNow(now - STALL_MS))) {
    await exportRunnerOf(env, id).start(id);
  }
}
