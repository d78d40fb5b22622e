import { AppError, unauthorized } from "../errors";
import { recordSecurityEvent, type SecurityScope } from "../security/record";
import { isoNow } from "../time";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "./password";
import { clearLoginFailures, countLoginFailure, findLoginAttempts, findUserByUsername } from "./store";

export const LOCKOUT_FAILURES = 10;
export const LOCKOUT_WINDOW_MS = 15 * 60 * 1000;
export const LOCKOUT_DURATION_MS = 15 * 60 * 1000;

export type ClientInfo = { ipAddress: string | null; userAgent: string | null };

function accountLocked(lockedUntil: string, now: number) {
  const retryAfter = Math.max(1, Math.ceil((Date.parse(lockedUntil) - now) / 1000));
  return new AppError(401, "account_locked", "Too many failed logins; try again later", undefined, {
    "Retry-After": String(retryAfter),
    "WWW-Authenticate": 'Basic realm="chainproof"',
  });
}

/**
 * Checks a username and password, enforcing the lockout: 10 failures within 15 minutes lock the
 * username for 15 minutes, whether or not it exists, so the lock reveals nothing about accounts.
 */
export async function loginWithPassword(scope: SecurityScope, username: string, password: string, client: ClientInfo) {
  const { db } = scope;
  const now = Date.now();
  const attempts = await findLoginAttempts(db, username);
  if (attempts?.lockedUntil && Date.parse(attempts.lockedUntil) > now) throw accountLocked(attempts.lockedUntil, now);

  const user = await findUserByUsername(db, username);
  const passwordOk = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (user && passwordOk) {
    if (attempts) await clearLoginFailures(db, username);
    return user;
  }

  const failure = await countLoginFailure(
    db,
    username,
    isoNow(now),
    isoNow(now - LOCKOUT_WINDOW_MS),
    LOCKOUT_FAILURES,
    isoNow(now + LOCKOUT_DURATION_MS),
  );
  const context = { organizationId: user?.organizationId ?? null, userId: user?.id ?? null, ...client };
  await recordSecurityEvent(scope, {
    ...context,
    eventType: "login_failed",
    riskScore: 20,
    severity: "warning",
    description: `Failed login for ${username}`,
    metadata: { username, failures_in_window: failure.failures },
  });
  if (failure.lockedUntil) {
    await recordSecurityEvent(scope, {
      ...context,
      eventType: "account_locked",
      riskScore: 70,
      severity: "high",
      description: `${username} locked after ${failure.failures} failed logins`,
      metadata: { username, locked_until: failure.lockedUntil },
    });
    throw accountLocked(failure.lockedUntil, now);
  }
  throw unauthorized("Invalid username or password");
}
