import { resumeStalledExports } from "../audit/export/runner";
import { database } from "../db/client";
import type { Env } from "../env";
import { deliverDueAlerts } from "../security/delivery";
import type { SecurityScope } from "../security/record";
import { continueRetentionPass, startRetentionPass } from "./scheduled-retention";
import { continueValidationPass, startValidationPass } from "./scheduled-validation";
import { runUpkeep } from "./upkeep";

/** The cron triggers of wrangler.toml. `scheduledTime` is "now" for the jobs, so a test can move the clock. */
export async function runScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext) {
  const scope: SecurityScope = { db: database(env.DB), env, waitUntil: (promise) => ctx.waitUntil(promise) };
  switch (controller.cron) {
    case "*/5 * * * *":
      await deliverDueAlerts(env, controller.scheduledTime);
      await resumeStalledExports(env, controller.scheduledTime);
      await runUpkeep(env, controller.scheduledTime);
      // Daily passes that did not fit their first invocation walk on.
      await continueRetentionPass(env, scope);
      await continueValidationPass(env, scope);
      break;
    case "17 3 * * *":
      // Retention first: the day's validation then starts from the new anchors and says so in its evidence.
      await startRetentionPass(env, scope, controller.scheduledTime);
      await startValidationPass(env, scope, controller.scheduledTime);
      break;
    default:
      // A trigger in wrangler.toml with no job here does nothing: say so instead of passing silently.
      console.warn(`no scheduled job for cron "${controller.cron}"`);
  }
}
