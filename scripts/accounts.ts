import { hashPassword } from "../src/auth/password";
import { newRandomSecret } from "../src/auth/secrets";
import { passwordField } from "../src/auth/password-field";
import { isoNow } from "../src/time";
import { type AccountRow, findUserSql, resetPasswordSql, unlockSql } from "./account-sql";
import { d1 } from "./wrangler";

export type D1Target = { remote: boolean; persistTo?: string };

function findUser(username: string, target: D1Target) {
  const [row] = d1(findUserSql(username), target.remote, target.persistTo) as AccountRow[];
  if (!row) throw new Error(`There is no user named ${username}`);
  return row;
}

/** Lifts the lockout of an existing user's username. */
export function unlock(username: string, target: D1Target) {
  findUser(username, target);
  d1(unlockSql(username), target.remote, target.persistTo);
}

/** Sets a new password (the given one, else a random one, which is answered) and ends every session of the user. */
export async function resetPassword(username: string, password: string | undefined, target: D1Target) {
  const chosen = password ?? newRandomSecret();
  const checked = passwordField.safeParse(chosen);
  if (!checked.success) throw new Error(`password: ${checked.error.issues.map((i) => i.message).join("; ")}`);
  const user = findUser(username, target);
  const statements = resetPasswordSql(user, await hashPassword(chosen), isoNow(), crypto.randomUUID());
  d1(statements.join(";\n"), target.remote, target.persistTo);
  return chosen;
}
