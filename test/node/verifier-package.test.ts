import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, realpath } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { basename, delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { format } from "node:util";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main";
import { jsonl, type Ran, runProgram, sealChain, signedReportBody, tempDir } from "./cli-helpers";

// The auditor's path: the verifier packed by `npm pack` in verifier/ (its prepack builds the bundle),
// then run from an empty directory outside the repository, with npm offline and its registry pointed
// at a closed port, so nothing can come from this clone's node_modules or from the network.
const VERIFIER = fileURLToPath(new URL("../../verifier", import.meta.url));
const DEAD_REGISTRY = "http://127.0.0.1:9/";

const { file, inDir } = tempDir();

/** The environment of a machine with only Node: its PATH, and npm kept offline with a cache of its own. */
const auditorEnv = () => ({
  PATH: process.env.PATH ?? "",
  HOME: inDir("home"),
  npm_config_cache: inDir("npm-cache"),
  npm_config_registry: DEAD_REGISTRY,
  npm_config_offline: "true",
  npm_config_update_notifier: "false",
});

/** Every distinct Node on PATH (the pinned 22 and the system's 20 here), and the one running the tests. */
async function nodesOnPath(): Promise<string[]> {
  const found = (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "node")).filter((path) => existsSync(path));
  return [...new Set(await Promise.all([process.execPath, ...found].map((path) => realpath(path))))];
}

const ancestors = (dir: string): string[] => (dirname(dir) === dir ? [dir] : [dir, ...ancestors(dirname(dir))]);

/** The CLI's own code run in this process (no spawn, no tsx): the verdict the bundle must reproduce. */
async function fromSources(args: string[]): Promise<Pick<Ran, "code" | "stdout">> {
  const lines: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void lines.push(`${format(...parts)}\n`));
  try {
    return { code: await main(args), stdout: lines.join("") };
  } finally {
    log.mockRestore();
  }
}

/** The module specifiers the bundle loads: static imports, re-exports, dynamic imports and require calls. */
function specifiersOf(code: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]!));
}

const KEY = "7a".repeat(32);
const AUDIT_KEY = "audit-key-auditor";
const ORG = randomUUID();

const signedReport = () => signedReportBody(ORG, KEY, "ef".repeat(32));

/** Flips one character of the signed bytes (a digit of the organization id inside "report"). */
const flipped = (body: string) => {
  const at = body.indexOf(ORG);
  return body.slice(0, at) + (body[at] === "0" ? "1" : "0") + body.slice(at + 1);
};

describe("the standalone verifier package", { timeout: 120_000 }, () => {
  const fixture = { reference: [] as Pick<Ran, "code" | "stdout">[], tarball: "", files: [] as string[], auditor: "", report: "", tamperedReport: "", jwks: "", chain: "", tamperedChain: "" };

  const cases = () => [
    { args: ["verify-report", fixture.report, "--key", KEY, "--jwks", fixture.jwks], code: 0, verdict: "report:       VALID" },
    { args: ["verify-report", fixture.tamperedReport, "--key", KEY, "--jwks", fixture.jwks], code: 1, verdict: "report:       INVALID" },
    { args: ["verify-chain", fixture.chain, "--key", AUDIT_KEY], code: 0, verdict: "chain:        VALID" },
    { args: ["verify-chain", fixture.tamperedChain, "--key", AUDIT_KEY], code: 1, verdict: "first break:  seq 12" },
    // An attested report with no JWKS to check its attestation against is not valid.
    { args: ["verify-report", fixture.report, "--key", KEY], code: 1, verdict: "report:       NOT VERIFIED" },
  ];

  beforeAll(async () => {
    const packed = execFileSync("npm", ["pack", "--json", "--pack-destination", inDir(".")], {
      cwd: VERIFIER,
      env: { ...process.env, npm_config_registry: DEAD_REGISTRY },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    const [info] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    fixture.files = info!.files.map((f) => f.path).sort();
    fixture.auditor = inDir("auditor");
    await mkdir(fixture.auditor);
    fixture.tarball = join(fixture.auditor, info!.filename);
    await copyFile(inDir(info!.filename), fixture.tarball);
    execFileSync("npm", ["install", "--no-audit", "--no-fund", fixture.tarball], { cwd: fixture.auditor, env: auditorEnv(), stdio: "ignore" });

    const { body, jwks } = await signedReport();
    fixture.report = await file("report.json", body);
    fixture.tamperedReport = await file("tampered-report.json", flipped(body));
    fixture.jwks = await file("jwks.json", jwks);
    const rows = sealChain(30, { org: ORG, keyFor: () => AUDIT_KEY });
    fixture.chain = await file("export.jsonl", jsonl(rows));
    fixture.tamperedChain = await file("tampered.jsonl", jsonl(rows.map((r) => (r.seq === 12 ? { ...r, action: "delete" } : r))));
    for (const { args } of cases()) fixture.reference.push(await fromSources(args));
  }, 120_000);

  /** Runs the cases with `runner`: each verdict, and the output to the byte, of the CLI's sources. */
  async function expectSameAsSources(runner: (args: string[]) => Promise<Ran>, which = cases().map((_, i) => i)) {
    const all = cases();
    const ran = await Promise.all(which.map((i) => runner(all[i]!.args)));
    which.forEach((i, n) => {
      const { code, verdict } = all[i]!;
      expect(ran[n]!.stderr).toBe("");
      expect(ran[n]!.stdout).toContain(verdict);
      expect(ran[n]!.stdout).toBe(fixture.reference[i]!.stdout);
      expect([ran[n]!.code, fixture.reference[i]!.code]).toEqual([code, code]);
    });
  }

  const installedFile = (name: string) => join(fixture.auditor, "node_modules", "chainproof-verifier", name);

  it("packs the bundle alone, and the bundle loads nothing but Node's builtins", async () => {
    expect(fixture.files).toEqual(["README.md", "chainproof.mjs", "package.json"]);
    expect(ancestors(dirname(fixture.auditor)).filter((dir) => existsSync(join(dir, "node_modules")))).toEqual([]);
    expect((await readdir(join(fixture.auditor, "node_modules"))).filter((name) => !name.startsWith("."))).toEqual(["chainproof-verifier"]);
    const manifest = JSON.parse(await readFile(installedFile("package.json"), "utf8"));
    expect(manifest.bin).toEqual({ chainproof: "chainproof.mjs" });
    expect(manifest.dependencies).toBeUndefined();
    const code = await readFile(installedFile("chainproof.mjs"), "utf8");
    expect(code.startsWith("#!/usr/bin/env node\n")).toBe(true);
    const specifiers = specifiersOf(code);
    expect(specifiers).toContain("node:crypto");
    // Not tsx, not a package of this clone: what Node alone provides.
    expect(specifiers.filter((s) => !isBuiltin(s))).toEqual([]);
  });

  it("installed offline in an empty directory, verifies under every Node on PATH", async () => {
    const bin = join(fixture.auditor, "node_modules", ".bin", "chainproof");
    for (const node of await nodesOnPath()) {
      await expectSameAsSources((args) => runProgram(node, [bin, ...args], { cwd: fixture.auditor, env: auditorEnv() }));
    }
  });

  it("runs as the README shows: npx --yes ./chainproof-verifier-<version>.tgz verify-…", async () => {
    // A directory of its own: in the one above, npx would find the installed package instead.
    const dir = inDir("npx-auditor");
    await mkdir(dir);
    const tgz = `./${basename(fixture.tarball)}`;
    await copyFile(fixture.tarball, join(dir, tgz));
    const npx = (args: string[]) => runProgram("npx", ["--yes", tgz, ...args], { cwd: dir, env: auditorEnv() });
    // One run of each command, one after the other: the first installs the tarball into npx's cache.
    await expectSameAsSources(npx, [0]);
    await expectSameAsSources(npx, [3]);
  });
});
