// A throwaway `wrangler dev` for the benchmark: its own state dir, its own secrets, its own port,
// and a frozen bundle of the Worker, so it never touches `npm start`'s data or .dev.vars.
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { hashPassword } from "../../src/auth/password";
import { toHex } from "../../src/crypto/encoding";
import { generateEd25519PrivateJwk } from "../../src/crypto/ed25519";
import { isoNow } from "../../src/time";
import { sqlString } from "../sql-text";
import { d1, wrangler } from "../wrangler";

export type Secrets = { SECRET_KEY: string; AUDIT_HMAC_KEY: string; REPORT_SIGNING_KEY: string; CHECKPOINT_SIGNING_KEY: string };
export type Credentials = { username: string; password: string };

/** `pid` is wrangler's and its process group's; `inspectorPort` reaches the Worker's isolate (DevTools protocol). */
export type Server = { base: string; logFile: string; pid: number; stateDir: string; inspectorPort: number; stop: () => Promise<void> };

const randomSecret = () => toHex(crypto.getRandomValues(new Uint8Array(32)));

export async function writeSecrets(dir: string): Promise<{ secrets: Secrets; envFile: string }> {
  const secrets: Secrets = {
    SECRET_KEY: randomSecret(),
    AUDIT_HMAC_KEY: randomSecret(),
    REPORT_SIGNING_KEY: randomSecret(),
    CHECKPOINT_SIGNING_KEY: JSON.stringify(await generateEd25519PrivateJwk()),
  };
  const envFile = join(dir, "bench.env");
  const lines = Object.entries(secrets).map(([k, v]) => `${k}='${v}'`);
  // Retention on, so the last figure can prune (scripts/bench/retention.ts); nothing is due before it.
  writeFileSync(envFile, [...lines, "AUDIT_HMAC_RETIRED_KEYS=[]", "ENFORCE_ORG_QUOTAS=true", ""].join("\n"), { mode: 0o600 });
  return { secrets, envFile };
}

/** Applies the migrations to `stateDir` and inserts a super_admin straight into its D1. */
export async function prepareDatabase(stateDir: string): Promise<Credentials> {
  wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { quiet: true });
  const admin = { username: "bench-root", password: randomSecret().slice(0, 24) };
  d1(
    `INSERT INTO users (id, organization_id, username, password_hash, role, created_at) VALUES (${sqlString(crypto.randomUUID())}, NULL, ` +
      `${sqlString(admin.username)}, ${sqlString(await hashPassword(admin.password))}, 'super_admin', ${sqlString(isoNow())})`,
    false,
    stateDir,
  );
  return admin;
}

/** Bundles the Worker once, so edits to src/ during the run cannot reload it mid-measurement. */
export function bundleWorker(dir: string): string {
  const outDir = join(dir, "bundle");
  mkdirSync(outDir, { recursive: true });
  wrangler(["deploy", "--dry-run", "--outdir", outDir], { quiet: true });
  return join(outDir, "index.js");
}

async function answersHealthz(base: string) {
  try {
    return (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** A port nothing listens on now: wrangler's default inspector port 9229 may belong to another `wrangler dev`. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer().once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

export async function startServer(options: { port: number; dir: string; stateDir: string; envFile: string; script: string }): Promise<Server> {
  const base = `http://127.0.0.1:${options.port}`;
  if (await answersHealthz(base)) throw new Error(`Something already answers on ${base}; pick another --port`);
  const logFile = join(options.dir, "wrangler.log");
  const inspectorPort = await freePort();
  const log = createWriteStream(logFile);
  // With a script path wrangler no longer finds wrangler.toml by itself (no bindings at all).
  const args = [
    "dev", options.script, "--no-bundle", "--config", "wrangler.toml",
    "--ip", "127.0.0.1", "--port", String(options.port),
    "--persist-to", options.stateDir,
    // The bench reads the Worker's heap through it (scripts/bench/memory.ts).
    "--inspector-port", String(inspectorPort),
    "--env-file", options.envFile,
    "--show-interactive-dev-session=false",
    // wrangler formats a log line per request in its own Node process: CPU the Worker would lack.
    "--log-level", "warn",
  ];
  // Its own process group, so stop() can end wrangler together with the workerd it spawned.
  const child = spawn("wrangler", args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const stop = stopper(child);
  try {
    await waitUntilUp(base, child, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { base, logFile, pid: child.pid!, stateDir: options.stateDir, inspectorPort, stop };
}

async function waitUntilUp(base: string, child: ChildProcess, logFile: string) {
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) break;
    if (await answersHealthz(base)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  const tail = readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n");
  throw new Error(`wrangler dev did not come up on ${base}:\n${tail}`);
}

function stopper(child: ChildProcess) {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  // Last resort if the bench process dies without running stop().
  const onExit = () => signalGroup("SIGKILL");
  process.once("exit", onExit);
  return async () => {
    signalGroup("SIGTERM");
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 5000))]);
    if (timedOut) signalGroup("SIGKILL");
    // workerd may outlive wrangler for a moment; make sure the whole group is gone.
    signalGroup("SIGKILL");
    process.off("exit", onExit);
  };
}
