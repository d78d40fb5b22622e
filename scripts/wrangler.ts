import { spawnSync } from "node:child_process";

/** Runs the project's wrangler (npm puts node_modules/.bin on PATH) and returns its stdout. */
export function wrangler(args: string[], options: { quiet?: boolean } = {}): string {
  const result = spawnSync("wrangler", args, {
    encoding: "utf8",
    stdio: options.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "pipe", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (result.status !== 0) {
    if (options.quiet) process.stderr.write(result.stderr ?? "");
    throw new Error(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${result.status})`);
  }
  return result.stdout;
}

/**
 * One SQL statement against D1 (local state, or the deployed database with `remote`); rows as objects.
 * `persistTo` points a local run at another state directory than .wrangler/state.
 */
export function d1(sql: string, remote = false, persistTo?: string): Record<string, unknown>[] {
  const target = remote ? ["--remote"] : ["--local", ...(persistTo ? ["--persist-to", persistTo] : [])];
  const out = wrangler(["d1", "execute", "DB", ...target, "--json", "--command", sql], { quiet: true });
  const parsed = JSON.parse(out) as { results: Record<string, unknown>[] }[];
  return parsed.flatMap((r) => r.results ?? []);
}
