import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, CHROMIUM_FLAGS, chromiumPath, type LocalWorker, startLocalWorker } from "./browser-server";
import { run } from "./cli-helpers";

// The dashboard in a real headless Chromium against the Worker under `wrangler dev`: what a person
// does every day, including the sign-in that HTTP-level tests could not catch (Origin: null).

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts", import.meta.url));
const executable = chromiumPath();
if (!executable && !process.env.CI) {
  console.warn("dashboard-browser: SKIPPED — chromium is not installed (apt-get install -y --no-install-recommends chromium); in CI it must run.");
}

const PASSWORD = "a browser test password";
let worker: LocalWorker;
let browser: Browser;
let base: string;
const org = { a: "", b: "" };
const users = { admin: "dash-admin", member: "dash-member", foreignAdmin: "other-admin" };
let memberRecords = 0;

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

async function signIn(page: Page, username: string, password = PASSWORD) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.getByRole("button", { name: "Sign in" }).click()]);
}

async function newPage(viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ acceptDownloads: true, viewport });
  return context.newPage();
}

describe.skipIf(!executable && !process.env.CI)("dashboard in headless Chromium", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    if (!executable) throw new Error("chromium is not installed; CI must install it (.ci/run does)");
    mkdirSync(ARTIFACTS, { recursive: true });
    worker = await startLocalWorker();
    base = worker.server.base;
    const root = worker.root;
    org.a = (await call(base, root, "POST", "/api/v1/organizations", { name: "Acme GmbH", settings: { tier: "PROFESSIONAL" } })).id;
    org.b = (await call(base, root, "POST", "/api/v1/organizations", { name: "Other Corp" })).id;
    const member = await call(base, root, "POST", `/api/v1/organizations/${org.a}/users`, { username: users.member, password: PASSWORD, role: "member" });
    await call(base, root, "POST", `/api/v1/organizations/${org.a}/users`, { username: users.admin, password: PASSWORD, role: "org_admin" });
    await call(base, root, "POST", `/api/v1/organizations/${org.b}/users`, { username: users.foreignAdmin, password: PASSWORD, role: "org_admin" });
    await call(base, root, "PUT", `/api/v1/organizations/${org.a}/services/svc_main`, {
      name: "orders db", database_type: "postgresql", version: "16", status: "running", zones: ["de-fra1", "nl-ams1"], storage_region: "de-fra1",
      storage_encrypted: true, backup_encryption_enabled: true, tls_enabled: true, backup_policy: { schedule_enabled: true, schedule_cron: "0 3 * * *", retention_days: 14 },
    });
    const at = (i: number) => new Date(Date.now() - i * 3_600_000).toISOString();
    const records = Array.from({ length: 12 }, (_, i) => ({
      organization_id: org.a,
      actor_id: i === 0 ? member.id : crypto.randomUUID(), action: i % 3 === 0 ? "delete" : "update", resource_type: "device", resource_id: `dev_${i}`,
      status: i % 4 === 0 ? "failure" : "success", timestamp: at(i), previous_state: { plan: "pro", n: i }, new_state: { plan: "free", n: i }, metadata: { i },
    }));
    await call(base, root, "POST", "/api/v1/audit/logs/batch", { records });
    await call(base, root, "POST", "/api/v1/audit/security-events", { organization_id: org.a, event_type: "suspicious_ip", risk_score: 75, description: "Login from a TOR exit" });
    memberRecords = 1;
    browser = await chromium.launch({ executablePath: executable, args: CHROMIUM_FLAGS });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.server.stop();
    if (worker) await rm(worker.dir, { recursive: true, force: true });
  });

  it("org_admin: sign in, filter, open a record, export CSV, Compliance tab, signed JSON verified by the CLI, sign out", async () => {
    const page = await newPage();
    await page.goto(`${base}/login`);
    await shot(page, "01-login");
    await signIn(page, users.admin);
    expect(new URL(page.url()).pathname).toBe("/logs");

    await page.getByLabel("Status").selectOption("failure");
    await Promise.all([page.waitForURL(/status=failure/), page.getByRole("button", { name: "Apply filters" }).click()]);
    // Failures among the 12 seeded records: i = 0, 4, 8.
    expect(await page.locator("tbody tr").count()).toBe(3);
    await shot(page, "02-logs-filtered");

    await Promise.all([page.waitForURL(/\/logs\/[0-9a-f-]{36}$/), page.locator("tbody tr a").first().click()]);
    expect(await page.getByText("Seal valid").count()).toBe(1);
    expect(await page.locator("del").first().textContent()).toBe('"pro"');
    await shot(page, "03-record");

    await page.goBack();
    await page.getByLabel("Format").selectOption("csv");
    const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: /^Export/ }).click()]);
    const csvText = readFileSync((await csv.path())!, "utf8");
    // The date/action/resource filters apply to the export; status is a view filter: all 12 seeded rows plus chainproof's own.
    expect(csvText.split("\n")[0]).toMatch(/^id,organization_id,seq,/);
    expect(csvText).toContain("dev_11");

    await Promise.all([page.waitForURL(/\/compliance$/), page.getByRole("link", { name: "Organization" }).click()]);
    expect(await page.getByText("orders db").count()).toBe(1);
    await shot(page, "04-compliance");
    const [report] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download signed JSON" }).click()]);
    const reportFile = join(worker.dir, "report.json");
    await report.saveAs(reportFile);
    const key = await (await page.request.get(`${base}/api/v1/organizations/${org.a}/compliance-report/verification-key`)).json();
    const jwksFile = join(worker.dir, "jwks.json");
    writeFileSync(jwksFile, await (await page.request.get(`${base}/.well-known/jwks.json`)).text());
    const verified = await run("verify-report", reportFile, "--key", key.key, "--jwks", jwksFile);
    expect(verified.stdout).toContain("report:       VALID");
    expect(verified.code).toBe(0);

    for (const [path, name] of [["/security", "05-security"], ["/activity", "06-activity"], [`/orgs/${org.a}/users`, "07-users"]] as const) {
      const res = await page.goto(`${base}${path}`);
      expect(res!.status(), path).toBe(200);
      await shot(page, name);
    }
    await page.goto(`${base}/security`);
    expect(await page.getByText("Login from a TOR exit").count()).toBe(1);

    await page.goto(`${base}/exports`);
    await Promise.all([page.waitForURL(`${base}/exports`), page.getByRole("button", { name: "Request export" }).click()]);
    await expect.poll(async () => (await page.reload(), await page.getByRole("link", { name: "Download" }).count()), { timeout: 60_000, interval: 1000 }).toBe(1);
    await shot(page, "08-exports");

    await Promise.all([page.waitForURL(`${base}/login`), page.getByRole("button", { name: "Sign out" }).click()]);
    expect((await page.goto(`${base}/logs`))!.url()).toBe(`${base}/login`);
  });

  it("member sees its history and its compliance report; super_admin runs validation; a foreign org is 404; a form without the token is refused", async () => {
    const member = await newPage({ width: 390, height: 844 });
    await signIn(member, users.member);
    expect(await member.getByRole("heading", { name: "My history" }).count()).toBe(1);
    expect(await member.locator("tbody tr").count()).toBe(memberRecords);
    expect(await member.getByRole("link", { name: "Security" }).count()).toBe(0);
    await shot(member, "09-member-phone");
    expect((await member.goto(`${base}/security`))!.status()).toBe(403);
    expect((await member.goto(`${base}/orgs/${org.a}/compliance`))!.status()).toBe(200);

    const root = await newPage();
    await signIn(root, worker.root.username, worker.root.password);
    expect(new URL(root.url()).pathname).toBe("/orgs");
    await shot(root, "10-organizations");
    await root.goto(`${base}/integrity`);
    await Promise.all([root.waitForURL(`${base}/integrity/${org.a}/validate`), root.getByRole("button", { name: "Validate Acme GmbH now" }).click()]);
    expect(await root.getByText("Chain valid").count()).toBe(1);
    await shot(root, "11-integrity");

    const foreign = await newPage();
    await signIn(foreign, users.foreignAdmin);
    const res = await foreign.goto(`${base}/orgs/${org.a}/compliance`);
    expect(res!.status()).toBe(404);
    await shot(foreign, "12-foreign-404");

    // A form built without the CSRF token, posted from our own page: the browser sends the cookie, the server refuses.
    await foreign.goto(`${base}/orgs/${org.b}/users`);
    const [refused] = await Promise.all([
      foreign.waitForResponse((r) => r.request().method() === "POST" && r.url().endsWith(`/orgs/${org.b}/tokens`)),
      // Runs in the page (a string: the Node project has no DOM types).
      foreign.evaluate(`(() => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = "/orgs/${org.b}/tokens";
        for (const [name, value] of [["name", "no token"], ["role", "ingest"]]) {
          const input = document.createElement("input");
          input.name = name;
          input.value = value;
          form.append(input);
        }
        document.body.append(form);
        form.submit();
      })()`),
    ]);
    expect(refused.status()).toBe(403);
    await foreign.waitForURL(`${base}/orgs/${org.b}/tokens`);
    expect(await foreign.getByText("Missing or invalid CSRF token").count()).toBe(1);
    await shot(foreign, "13-csrf-refused");
  });
});
