import { resumeStalledExports } from "../audit/export-runner";
import type { Env } from "../env";
import { deliverDueAlerts } from "../security/delivery";

/** The cron triggers of wrangler.toml. `scheduledTime` is "now" for the jobs, so a test can move the clock. */
export async function runScheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
  switch (controller.cron) {
    case "*/5 * * * *":
      await deliverDueAlerts(env, controller.scheduledTime);
      await resumeStalledExports(env, controller.scheduledTime);
      break;
    default:
      // A trigger in wrangler.toml with no job here does nothing: say so instead of passing silently.
      console.warn(`no scheduled job for cron "${controller.cron}"`);
  }
}
