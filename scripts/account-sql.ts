import { sqlString } from "./sql-text";

// What the operator's account commands (scripts/admin.ts) run through `wrangler d1 execute`. Kept
// apart from Node so a worker test runs the very same text against a real D1.

export type AccountRow = { id: string; organization_id: string | null; username: string };

export const findUserSql = (username: string) => `SELECT id, organization_id, username FROM users WHERE username = ${sqlString(username)}`;

/** Unlock: the username's lockout row goes, failures and lock with it. */
export const unlockSql = (username: string) => `DELETE FROM login_attempts WHERE username = ${sqlString(username)}`;

/**
 * Reset: the new hash, every session of the user ended, the lockout lifted, and a `password_reset`
 * security event in the user's organization (the chain's writer is the Worker, which a script cannot be).
 */
export function resetPasswordSql(user: AccountRow, passwordHash: string, now: string, eventId: string): string[] {
  const metadata = JSON.stringify({ username: user.username, by: "npm run admin -- reset-password" });
  return [
    `UPDATE users SET password_hash = ${sqlString(passwordHash)} WHERE id = ${sqlString(user.id)}`,
    `DELETE FROM sessions WHERE user_id = ${sqlString(user.id)}`,
    unlockSql(user.username),
    `INSERT INTO security_events (id, organization_id, user_id, event_type, severity, risk_score, description, metadata, timestamp, alerted) ` +
      `VALUES (${sqlString(eventId)}, ${user.organization_id === null ? "NULL" : sqlString(user.organization_id)}, ${sqlString(user.id)}, ` +
      `'password_reset', 'warning', 40, ${sqlString(`Password of ${user.username} reset by an operator`)}, ${sqlString(metadata)}, ${sqlString(now)}, 0)`,
  ];
}
