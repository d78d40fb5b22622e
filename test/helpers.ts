import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { hashPassword } from "../src/auth/password";
import { newApiToken, secretDigest } from "../src/auth/secrets";
import { database } from "../src/db/client";
import type { TokenRole, UserRole } from "../src/db/schema";
import { insertOrganization, insertToken, insertUser } from "../src/orgs/store";
import { isoNow } from "../src/time";

export const db = () => database(env.DB);

export type Credentials = { basic: string } | { bearer: string } | { cookie: string; csrf?: string } | null;

export const basic = (username: string, password: string): Credentials => ({
  basic: btoa(`${username}:${password}`),
});

let counter = 0;
/** Names unique across the whole test run: the D1 database is shared by every test. */
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export async function api(
  path: string,
  options: { method?: string; body?: unknown; rawBody?: string | Uint8Array; as?: Credentials; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  const as = options.as;
  if (as && "basic" in as) headers.Authorization = `Basic ${as.basic}`;
  if (as && "bearer" in as) headers.Authorization = `Bearer ${as.bearer}`;
  if (as && "cookie" in as) {
    headers.Cookie = as.cookie;
    if (as.csrf) headers["X-CSRF-Token"] = as.csrf;
  }
  let body: string | Uint8Array | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await exports.default.fetch(new Request(`https://chainproof.test${path}`, { method: options.method ?? "GET", headers, body, redirect: "manual" }));
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export const PASSWORD = "correct horse battery staple";

export async function createUser(role: UserRole, organizationId: string | null) {
  const username = unique(role);
  const user = { id: crypto.randomUUID(), organizationId, username, passwordHash: await hashPassword(PASSWORD), role, createdAt: isoNow() };
  await insertUser(db(), user);
  return { user, as: basic(username, PASSWORD) };
}

export async function createToken(role: TokenRole, organizationId: string) {
  const token = newApiToken(organizationId);
  const row = { id: crypto.randomUUID(), organizationId, name: unique("token"), role, tokenHash: await secretDigest(token), createdAt: isoNow() };
  await insertToken(db(), row);
  return { row, as: { bearer: token } as Credentials };
}

/** An organization with one of each kind of credential. */
export async function createTenant(tier = "PROFESSIONAL", id: string = crypto.randomUUID()) {
  const org = { id, name: unique("org"), settings: { tier }, createdAt: isoNow() };
  await insertOrganization(db(), org);
  const [admin, member, ingest, adminToken] = await Promise.all([
    createUser("org_admin", org.id),
    createUser("member", org.id),
    createToken("ingest", org.id),
    createToken("org_admin", org.id),
  ]);
  return { org, admin, member, ingest, adminToken };
}

export type Tenant = Awaited<ReturnType<typeof createTenant>>;

let superAdmin: Promise<Awaited<ReturnType<typeof createUser>>> | undefined;
export const getSuperAdmin = () => (superAdmin ??= createUser("super_admin", null));

/** A valid record body as a platform would send it. */
export const recordBody = (overrides: Record<string, unknown> = {}) => ({
  actor_id: crypto.randomUUID(),
  action: "update",
  resource_type: "device",
  resource_id: crypto.randomUUID(),
  status: "success",
  ip_address: "203.0.113.7",
  user_agent: "platform/1.0",
  changes: { hostname: { old: "a", new: "b" } },
  metadata: { ticket: "OPS-1" } as Record<string, unknown>,
  ...overrides,
});

export const appendRecord = (as: Credentials, body: unknown, headers: Record<string, string> = {}) =>
  api("/api/v1/audit/logs", { method: "POST", as, body, headers });

export const appendBatch = (as: Credentials, records: unknown[], headers: Record<string, string> = {}) =>
  api("/api/v1/audit/logs/batch", { method: "POST", as, body: { records }, headers });

export async function validate(query: Record<string, string | number>) {
  const sa = (await getSuperAdmin()).as;
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  return api(`/api/v1/audit/validate?${qs}`, { as: sa });
}

/** Runs an uncapped export's alarms until it settles, as the runtime would, and returns its final state. */
export async function runExportToEnd(id: string, as: Credentials) {
  const stub = env.EXPORT_RUNNER.get(env.EXPORT_RUNNER.idFromName(id));
  for (let i = 0; i < 50; i++) {
    const res = await api(`/api/v1/audit/exports/${id}`, { as });
    if (res.json.status === "complete" || res.json.status === "failed") return res;
    await runDurableObjectAlarm(stub);
  }
  throw new Error("export did not finish");
}

export const chainRows = (orgId: string) =>
  env.DB.prepare("SELECT * FROM audit_logs WHERE organization_id = ? AND seq IS NOT NULL ORDER BY seq").bind(orgId).all<Record<string, any>>().then((r) => r.results);

/** An organization with a valid chain of `n` records, appended through the API. */
export async function chainOf(n: number) {
  const tenant = await createTenant();
  const res = await appendBatch(tenant.ingest.as, Array.from({ length: n }, (_, i) => recordBody({ metadata: { i }, previous_state: { v: i }, new_state: { v: i + 1 } })));
  if (res.status !== 201) throw new Error(`could not append the chain: ${res.status} ${res.text}`);
  return { tenant, orgId: tenant.org.id, rows: await chainRows(tenant.org.id) };
}

/** One SQL statement straight to D1, past the API: what an insider with database access can do. */
export const sql = (query: string, ...params: unknown[]) => env.DB.prepare(query).bind(...params).run();

// Crypto written here from the docs with WebCrypto alone, so a test does not check src/crypto with itself.
export const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
export const sha256Hex = async (bytes: BufferSource) => hex(await crypto.subtle.digest("SHA-256", bytes));

/** HMAC-SHA256 keyed with the key's UTF-8 bytes, as lowercase hex. */
export async function hmacHex(key: string, message: string) {
  const k = await crypto.subtle.importKey("raw", utf8(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", k, utf8(message)));
}

/** An organization's report verification key derived from REPORT_SIGNING_KEY as docs/protocol.md §7 says, not fetched from the server. */
export async function reportKeyFromSpec(orgId: string) {
  const ikm = await crypto.subtle.importKey("raw", utf8(env.REPORT_SIGNING_KEY!), "HKDF", false, ["deriveBits"]);
  return hex(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: utf8("chainproof-report"), info: utf8(orgId) }, ikm, 256));
}
