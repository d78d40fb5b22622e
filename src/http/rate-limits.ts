import type { Env } from "../env";
import { AppError } from "./errors";

/** What each per-organization budget of wrangler.toml's [[ratelimits]] pays for. */
const BUDGETS = {
  EXPORT_BUDGET: "exports",
  VALIDATE_BUDGET: "chain validations",
  REPORT_BUDGET: "compliance reports",
  SUMMARY_BUDGET: "summaries",
} as const;
export type Budget = keyof typeof BUDGETS;

// The `period` of every budget in wrangler.toml; the binding answers only yes or no.
const PERIOD_SECONDS = 60;
// A super_admin's platform-wide request belongs to no one organization: those share one key.
const PLATFORM_KEY = "platform";

/**
 * Counts one request against the organization's budget, so that one tenant's burst of expensive
 * requests cannot starve the others; past the budget it is a 429 and nothing else happens.
 */
export async function spendBudget(env: Env, budget: Budget, organizationId: string | undefined) {
  const { success } = await env[budget].limit({ key: organizationId ?? PLATFORM_KEY });
  if (!success) {
    throw new AppError(429, "rate_limited", `Too many ${BUDGETS[budget]} for this organization; retry in ${PERIOD_SECONDS} seconds`, { headers: {
      "Retry-After": String(PERIOD_SECONDS),
    } });
  }
}
