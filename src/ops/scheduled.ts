import { resumeStalledExports } from "../audit/export/runner";
import { pruneLoginThrottles } from "../auth/attempts-store";
import { ipWindowStart, LOCKOUT_WINDOW_MS } from "../auth/login-policy";
import { database } from "../db/client";
import type { Env } from "../env";
import { deliverDueAlerts } from "../security/delivery";
import { isoNow } from "../time";

/** The cron triggers of wrangler.toml. `scheduledTime` is "now" for the jobs, so a test can move the clock. */
export async function runScheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
  switch (controller.cron) {
    case "*/5 * * * *":
      await deliverDueAlerts(env, controller.scheduledTime);
      await resumeStalledExports(env, controller.scheduledTime);
      await pruneLogins(env, controller.scheduledTime);
      break;
    default:
      // A trigger in wrangler.toml with no job here does nothing: say so instead of passing silently.
      console.warn(`no scheduled job for cron "${controller.cron}"`);
  }
}

/** Login throttling rows only matter while their window or lock lasts. */
async function pruneLogins(env: Env, now: number) {
  await pruneLoginThrottles(database(env.DB), {
    now: isoNow(now),
    currentIpWindow: isoNow(ipWindowStart(now)),
    lockoutWindowStart: isoNow(now - LOCKOUT_WINDOW_MS),
  });
}
