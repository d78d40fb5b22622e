import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleWorker, freePort, prepareDatabase, type Server, startServer, writeSecrets } from "../../scripts/bench/server";

// The Worker as an operator runs it locally (`wrangler dev`, state in a temp dir), for the browser test.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
process.env.PATH = `${join(ROOT, "node_modules", ".bin")}${delimiter}${process.env.PATH}`;

/** Debian's chromium, where `apt-get install chromium` puts it; null when it is not installed. */
export const chromiumPath = () => ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((p) => existsSync(p)) ?? null;

export const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

export type LocalWorker = { server: Server; dir: string; root: { username: string; password: string } };

export async function startLocalWorker(): Promise<LocalWorker> {
  const dir = await mkdtemp(join(tmpdir(), "chainproof-browser-"));
  const stateDir = join(dir, "state");
  const { envFile } = await writeSecrets(dir);
  const root = await prepareDatabase(stateDir);
  const script = bundleWorker(dir);
  const server = await startServer({ port: await freePort(), dir, stateDir, envFile, script });
  return { server, dir, root };
}

/** A JSON call to the running Worker with Basic credentials (the seed goes through the API, audited like any change). */
export async function call(base: string, auth: { username: string; password: string }, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Basic ${btoa(`${auth.username}:${auth.password}`)}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, any>) : {};
}
