import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlString } from "../../scripts/sql-text";
import { d1, wrangler } from "../../scripts/wrangler";
import { verifyPassword } from "../../src/auth/password";
import { runProgram } from "./cli-helpers";

// The operator's account commands, run for real: `npm run admin` against a local D1 in its own
// state directory (wrangler d1 execute --local --persist-to), as an operator would run them.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "node_modules", ".bin");
process.env.PATH = `${BIN}${delimiter}${process.env.PATH}`;

let state: string;

const admin = (...args: string[]) => runProgram(join(BIN, "tsx"), ["scripts/admin.ts", ...args, "--persist-to", state]);

const sql = (text: string) => d1(text, false, state);
const OPERATOR = "ops-admin";
const PASSWORD = "the first password";

// Every wrangler call takes seconds on a loaded machine: the setup and the checks are few, wide statements.
beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), "chainproof-admin-"));
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { quiet: true });
  expect((await admin("create-super-admin", OPERATOR, PASSWORD)).code).toBe(0);
  const now = new Date().toISOString();
  const locked = new Date(Date.now() + 15 * 60_000).toISOString();
  sql(
    `INSERT INTO login_attempts (username, failures, pending, window_started_at, locked_until) VALUES (${sqlString(OPERATOR)}, 10, 0, ${sqlString(now)}, ${sqlString(locked)});\n` +
      `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) SELECT 'h1', id, 'c', ${sqlString(now)}, '2999-01-01T00:00:00.000Z' FROM users WHERE username = ${sqlString(OPERATOR)}`,
  );
}, 300_000);
afterAll(async () => {
  await rm(state, { recursive: true, force: true });
});

const accountState = () =>
  sql(
    `SELECT password_hash AS hash, (SELECT count(*) FROM login_attempts WHERE username = u.username) AS lockout_rows, ` +
      `(SELECT count(*) FROM sessions WHERE user_id = u.id) AS sessions, ` +
      `(SELECT group_concat(event_type || ':' || risk_score) FROM security_events WHERE user_id = u.id) AS events ` +
      `FROM users u WHERE username = ${sqlString(OPERATOR)}`,
  )[0] as { hash: string; lockout_rows: number; sessions: number; events: string | null };

describe("npm run admin", { timeout: 300_000 }, () => {
  it("unlock removes the lockout of an existing user (nothing else), and refuses an unknown one", async () => {
    const res = await admin("unlock", OPERATOR);
    expect(res.stdout).toContain(`${OPERATOR} unlocked in the local database`);
    expect(res.code).toBe(0);
    const after = accountState();
    expect(after).toMatchObject({ lockout_rows: 0, sessions: 1, events: null });
    expect(await verifyPassword(PASSWORD, after.hash)).toBe(true);

    const unknown = await admin("unlock", "nobody-here");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("There is no user named nobody-here");
  });

  it("reset-password refuses a short password, else sets a random one, prints it once, ends the sessions, records password_reset", async () => {
    const short = await admin("reset-password", OPERATOR, "short");
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("password:");

    const res = await admin("reset-password", OPERATOR);
    expect(res.code).toBe(0);
    const chosen = /new password: (\S+)/.exec(res.stdout)![1]!;
    expect(chosen).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const after = accountState();
    expect(after).toMatchObject({ lockout_rows: 0, sessions: 0, events: "password_reset:40" });
    expect(await verifyPassword(chosen, after.hash)).toBe(true);
    expect(await verifyPassword(PASSWORD, after.hash)).toBe(false);
  });
});
