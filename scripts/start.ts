// npm start: the local demo. Creates .dev.vars (never overwritten, but a missing checkpoint key is
// added to it), applies migrations, seeds an empty database through the API (so the seed is
// audited like any other change), and runs `wrangler dev` on 127.0.0.1:8787 (or `-- --port N`) with
// state kept under .wrangler/state.
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { generateEd25519PrivateJwk } from "../src/crypto/ed25519";
import { toHex } from "../src/crypto/encoding";
import { createSuperAdmin } from "./bootstrap";
import { freshDevVars, withCheckpointKey } from "./dev-vars";
import { d1, wrangler } from "./wrangler";

const { values } = parseArgs({ options: { port: { type: "string", default: "8787" } } });
const PORT = Number(values.port);
if (!Number.isInteger(PORT) || PORT < 1024 || PORT > 65535) {
  console.error("usage: npm start [-- --port N] (1024–65535)");
  process.exit(2);
}
const BASE = `http://127.0.0.1:${PORT}`;
const CREDENTIALS_FILE = ".wrangler/demo-credentials.json";

type DemoCredentials = {
  super_admin: { username: string; password: string };
  org_admin: { username: string; password: string };
  member: { username: string; password: string };
  ingest_token: string;
  organization_id: string;
};

const randomSecret = () => toHex(crypto.getRandomValues(new Uint8Array(32)));

async function ensureDevVars() {
  const jwk = JSON.stringify(await generateEd25519PrivateJwk());
  if (!existsSync(".dev.vars")) {
    writeFileSync(".dev.vars", freshDevVars(randomSecret, jwk), { mode: 0o600 });
    console.log("Wrote .dev.vars with fresh random secrets.");
    return;
  }
  const completed = withCheckpointKey(readFileSync(".dev.vars", "utf8"), jwk);
  if (completed === null) return;
  writeFileSync(".dev.vars", completed, { mode: 0o600 });
  console.log("Set a fresh CHECKPOINT_SIGNING_KEY in .dev.vars (it had none); its other values are unchanged.");
}

async function waitForWorker() {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${BASE}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("wrangler dev did not answer on /healthz within 60 s");
}

async function post(path: string, auth: string, body: unknown) {
  const res = await fetch(`${BASE}${path}`, {
    method: "POST",
    headers: { Authorization: auth, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`seeding ${path} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function seedThroughApi(superAdmin: { username: string; password: string }): Promise<DemoCredentials> {
  const auth = `Basic ${btoa(`${superAdmin.username}:${superAdmin.password}`)}`;
  const org = await post("/api/v1/organizations", auth, { name: "Acme GmbH", settings: { tier: "PROFESSIONAL" } });
  const orgPath = `/api/v1/organizations/${org.id}`;
  const orgAdmin = { username: "acme-admin", password: randomSecret().slice(0, 20) };
  const member = { username: "acme-member", password: randomSecret().slice(0, 20) };
  await post(`${orgPath}/users`, auth, { ...orgAdmin, role: "org_admin" });
  await post(`${orgPath}/users`, auth, { ...member, role: "member" });
  const token = await post(`${orgPath}/tokens`, auth, { name: "demo ingest", role: "ingest" });
  return { super_admin: superAdmin, org_admin: orgAdmin, member, ingest_token: String(token.token), organization_id: String(org.id) };
}

function printWelcome(creds: DemoCredentials) {
  const line = (role: string, u: { username: string; password: string }) =>
    `  ${role.padEnd(12)} ${u.username} / ${u.password}    curl -u '${u.username}:${u.password}' ${BASE}/api/v1/me`;
  console.log(
    [
      "",
      "chainproof is running locally.",
      `  Dashboard    ${BASE}/login`,
      `  API docs     ${BASE}/docs   (OpenAPI: ${BASE}/api/v1/openapi.json)`,
      "",
      `Demo organization Acme GmbH (${creds.organization_id}), tier PROFESSIONAL:`,
      line("super_admin", creds.super_admin),
      line("org_admin", creds.org_admin),
      line("member", creds.member),
      `  ingest token ${creds.ingest_token}`,
      `               curl -H 'Authorization: Bearer ${creds.ingest_token}' ${BASE}/api/v1/audit/actions`,
      "",
      `(These are kept in ${CREDENTIALS_FILE}; delete .wrangler/ to start over.)`,
      "",
    ].join("\n"),
  );
}

await ensureDevVars();
wrangler(["d1", "migrations", "apply", "DB", "--local"], { quiet: true });
const empty = Number(d1("SELECT count(*) AS n FROM users")[0]?.n ?? 0) === 0;
let superAdmin: DemoCredentials["super_admin"] | undefined;
if (empty) {
  superAdmin = { username: "root", password: randomSecret().slice(0, 20) };
  await createSuperAdmin(superAdmin.username, superAdmin.password);
}

const dev = spawn("wrangler", ["dev", "--ip", "127.0.0.1", "--port", String(PORT), "--persist-to", ".wrangler/state"], {
  stdio: ["inherit", "inherit", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
dev.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));

await waitForWorker();
if (superAdmin) {
  const creds = await seedThroughApi(superAdmin);
  mkdirSync(".wrangler", { recursive: true });
  writeFileSync(CREDENTIALS_FILE, JSON.stringify(creds, null, 2), { mode: 0o600 });
  printWelcome(creds);
} else if (existsSync(CREDENTIALS_FILE)) {
  printWelcome(JSON.parse(readFileSync(CREDENTIALS_FILE, "utf8")) as DemoCredentials);
} else {
  console.log(`\nchainproof is running at ${BASE} (dashboard ${BASE}/login, docs ${BASE}/docs) with your existing data.`);
  console.log("Create an operator with: npm run admin -- create-super-admin <username> <password>\n");
}
