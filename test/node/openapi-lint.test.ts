import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { buildApp } from "../../src/app";
import { openApiDocument } from "../../src/http/openapi";

// Why here and not in workerd: Redocly's linter is a Node program (workerd runs without
// nodejs_compat), and the Worker cannot hand its document to a Node test. So the document is built
// on Node from the same app and the same document config that /api/v1/openapi.json serves
// (test/openapi.integration.test.ts checks the served one equals this build), with a stand-in for
// `cloudflare:workers` (vitest.config.ts) since building it runs no Durable Object.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REDOCLY = fileURLToPath(new URL("../../node_modules/@redocly/cli/bin/cli.js", import.meta.url));
// The path .redocly.lint-ignore.yaml names; it is also a file to generate clients from.
const DOCUMENT = "dist/openapi.json";

type LintReport = {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
};

function lint(): Promise<{ code: number; report: LintReport; stderr: string }> {
  // `--extends recommended` pins the ruleset whatever redocly.yaml says; no telemetry, no update check.
  const args = [REDOCLY, "lint", DOCUMENT, "--extends", "recommended", "--format", "json"];
  const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" };
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, report: JSON.parse(stdout) as LintReport, stderr });
    });
  });
}

it("the OpenAPI document passes Redocly's recommended rules with no error and no warning", { timeout: 60_000 }, async () => {
  const document = buildApp().getOpenAPI31Document(openApiDocument);
  await mkdir(`${ROOT}/dist`, { recursive: true });
  await writeFile(`${ROOT}/${DOCUMENT}`, JSON.stringify(document, null, 2));

  const { code, report, stderr } = await lint();
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
  expect(problems, stderr).toEqual([]);
  expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 3 });
  expect(code).toBe(0);
});
