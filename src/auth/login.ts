import { unauthorized } from "../http/errors";
import type { ClientInfo } from "../http/context";
import type { LoginScope } from "./login-scope";
import { isoNow } from "../time";
import { findLoginAttempts, recordLoginFailure, releaseLoginSlot, reserveLoginSlot } from "./attempts-store";
import { reserveIpBudget } from "./ip-budget";
import {
  accountLocked,
  ipWindowStart,
  LOCKOUT_DURATION_MS,
  LOCKOUT_FAILURES,
  LOCKOUT_WINDOW_MS,
  retryAfterSeconds,
  unknownUsernameSubject,
} from "./login-policy";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "./password";
import { findUserByUsername } from "./store";

type User = NonNullable<Awaited<ReturnType<typeof findUserByUsername>>>;

/**
 * Checks a username and password under the lockout and the per-IP budget.
 *
 * Why concurrent guesses cannot get past the limit: a password is only checked while holding a
 * slot, and a slot is taken BEFORE the check by one conditional upsert that succeeds only while
 * `failures + pending < 10` in the window and no lock stands. D1 runs statements one at a time, so
 * at most 10 checks of one username are ever in flight or failed per window: 40 parallel guesses
 * get 10 checks and 30 refusals without any PBKDF2. A failed check turns its slot into a failure
 * (the 10th locks); a right password gives its slot back and, in that same statement, reads the
 * lock again: a lock standing at that moment refuses the login, so no password succeeds after the
 * 10th failure. (While a slot is held the other slots allow at most 9 failures; the re-check
 * covers what the slots cannot see: a window that restarted during the check.)
 *
 * A request that finds every slot held by checks still running (not by failures, not locked) is no
 * failure of its own: it waits for a slot, polling, for up to SLOT_WAIT_MS, so that a client sending
 * its right password in parallel is served, only slower. The IP budget is reserved once the slot is
 * held, so that waiting requests hold none of it.
 *
 * A success does not erase earlier failures: "10 failures in 15 minutes" counts them all, and
 * erasing would hand a concurrent guesser 10 fresh slots.
 *
 * Unknown usernames lock exactly like known ones, so a lock reveals nothing: they share 65,536
 * rows chosen by a keyed hash instead of one row per guessed name (see README, "Lockout").
 */
export async function loginWithPassword(scope: LoginScope, username: string, password: string, client: ClientInfo) {
  const { db } = scope;
  const now = Date.now();
  const user = await findUserByUsername(db, username);
  const subject = user ? username : await unknownUsernameSubject(scope.secretKey, username);
  const slot = await waitForLoginSlot(scope, subject, now);
  let ipBudget;
  try {
    ipBudget = await reserveIpBudget(scope, client, Date.now());
  } catch (err) {
    await releaseLoginSlot(db, subject, slot);
    throw err;
  }

  const passwordOk = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  const checkedAt = Date.now();
  if (user && passwordOk) {
    await ipBudget.refund();
    const lockedUntil = await releaseLoginSlot(db, subject, slot);
    if (lockedUntil && Date.parse(lockedUntil) > checkedAt) throw accountLocked(retryAfterSeconds(Date.parse(lockedUntil), checkedAt));
    return user;
  }

  const failure = await recordLoginFailure(db, subject, slot, isoNow(checkedAt), LOCKOUT_FAILURES, isoNow(checkedAt + LOCKOUT_DURATION_MS));
  if (user) await recordAccountFailure(scope, user, failure, client);
  else await recordUnknownUsernameFailure(scope, client, checkedAt);
  if (failure.lockedUntil && Date.parse(failure.lockedUntil) > checkedAt) {
    throw accountLocked(retryAfterSeconds(Date.parse(failure.lockedUntil), checkedAt));
  }
  throw unauthorized("Invalid username or password");
}

/** How long a login waits for one of the slots that checks still running hold. */
const SLOT_WAIT_MS = 5_000;

/**
 * A slot for checking `subject`'s password: at once, or once a check in flight gives one back. A
 * lock, or failures that fill the window, refuse at once with the lock's remaining time.
 */
async function waitForLoginSlot(scope: LoginScope, subject: string, startedAt: number): Promise<string> {
  for (let now = startedAt; ; now = Date.now()) {
    const limits = { now: isoNow(now), windowStart: isoNow(now - LOCKOUT_WINDOW_MS), limit: LOCKOUT_FAILURES };
    const slot = await reserveLoginSlot(scope.db, subject, limits);
    if (slot) return slot;
    const row = await findLoginAttempts(scope.db, subject);
    const lockedUntil = row?.lockedUntil ? Date.parse(row.lockedUntil) : 0;
    if (lockedUntil > now) throw accountLocked(retryAfterSeconds(lockedUntil, now));
    const failuresFill = row !== undefined && row.windowStartedAt > limits.windowStart && row.failures >= LOCKOUT_FAILURES;
    if (failuresFill || now - startedAt >= SLOT_WAIT_MS) throw accountLocked(1);
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 60));
  }
}

type Failure = Awaited<ReturnType<typeof recordLoginFailure>>;

/** A known account's failures are bounded by the lockout: each one is its own event, in its organization. */
async function recordAccountFailure(scope: LoginScope, user: User, failure: Failure, client: ClientInfo) {
  const context = { organizationId: user.organizationId, userId: user.id, ...client };
  await scope.log.record({
    ...context,
    eventType: "login_failed",
    riskScore: 20,
    severity: "warning",
    description: `Failed login for ${user.username}`,
    metadata: { username: user.username, failures_in_window: failure.failures },
  });
  // Exactly one failure reaches the limit: the increment is atomic.
  if (failure.failures === LOCKOUT_FAILURES) {
    await scope.log.record({
      ...context,
      eventType: "account_locked",
      riskScore: 70,
      severity: "high",
      description: `${user.username} locked after ${failure.failures} failed logins`,
      metadata: { username: user.username, locked_until: failure.lockedUntil },
    });
  }
}

/**
 * Guessed usernames are unbounded, so their failures are counted, not listed: one `login_failed`
 * event per client IP and 15-minute window, `metadata.failures` the count. The names themselves
 * are not kept (a password typed into the username field would be).
 */
async function recordUnknownUsernameFailure(scope: LoginScope, client: ClientInfo, now: number) {
  const window = isoNow(ipWindowStart(now));
  await scope.log.recordCounted(`${client.ipAddress ?? "none"}|${window}`, "failures", {
    organizationId: null,
    eventType: "login_failed",
    riskScore: 20,
    severity: "warning",
    description: `Failed logins for unknown usernames from ${client.ipAddress ?? "an unknown address"}`,
    ...client,
    metadata: { unknown_usernames: true, window_started_at: window },
  });
}
