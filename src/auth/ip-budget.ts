import { isoNow } from "../time";
import { refundIpFailure, reserveIpFailure } from "./attempts-store";
import { IP_FAILURE_LIMIT, IP_WINDOW_MS, ipWindowStart, retryAfterSeconds, tooManyAttempts } from "./login-policy";
import type { ClientInfo } from "../http/context";
import type { LoginScope } from "./login-scope";

export type IpReservation = { refund: () => Promise<void> };

const NOTHING_TO_REFUND: IpReservation = { refund: async () => {} };

/**
 * Reserves one failed login in the client IP's window before any password is checked, so a
 * client past its budget costs a single statement and no PBKDF2. A request without
 * CF-Connecting-IP (only possible outside Cloudflare: tests, a bare `wrangler dev`) has no budget.
 * Refusals are counted in one `rate_limited` event per IP and window.
 */
export async function reserveIpBudget(scope: LoginScope, client: ClientInfo, now: number): Promise<IpReservation> {
  const ip = client.ipAddress;
  if (!ip) return NOTHING_TO_REFUND;
  const start = ipWindowStart(now);
  const window = isoNow(start);
  if (await reserveIpFailure(scope.db, ip, window, IP_FAILURE_LIMIT)) {
    return { refund: async () => void (await refundIpFailure(scope.db, ip, window)) };
  }
  await scope.log.recordCounted(`${ip}|${window}`, "refused", {
    organizationId: null,
    eventType: "rate_limited",
    riskScore: 50,
    severity: "warning",
    description: `Logins from ${ip} refused: ${IP_FAILURE_LIMIT} failures in 15 minutes`,
    ...client,
    metadata: { window_started_at: window, limit: IP_FAILURE_LIMIT },
  });
  throw tooManyAttempts(retryAfterSeconds(start + IP_WINDOW_MS, now));
}
