import { hashPassword } from "../src/auth/password";
import { CreateUserBody } from "../src/orgs/schemas";
import { isoNow } from "../src/time";
import { sqlString } from "./sql-text";
import { d1 } from "./wrangler";

export async function createSuperAdmin(username: string, password: string, remote = false, persistTo?: string) {
  const checked = CreateUserBody.safeParse({ username, password, role: "member" });
  if (!checked.success) {
    throw new Error(checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  if (d1(`SELECT 1 FROM users WHERE username = ${sqlString(username)}`, remote, persistTo).length > 0) {
    throw new Error(`A user named ${username} exists already`);
  }
  const id = crypto.randomUUID();
  d1(
    `INSERT INTO users (id, organization_id, username, password_hash, role, created_at) VALUES (${sqlString(id)}, NULL, ` +
      `${sqlString(username)}, ${sqlString(await hashPassword(password))}, 'super_admin', ${sqlString(isoNow())})`,
    remote,
    persistTo,
  );
  return id;
}
