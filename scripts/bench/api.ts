// The few API calls the benchmark makes outside autocannon.
import { randomUUID } from "node:crypto";
import type { AuditRecord } from "../../src/audit/chain/record";
import type { Credentials } from "./server";

export type Org = { id: string; token: string };

export const basicAuth = (c: Credentials) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

/** One record as a client would send it. */
export const sampleRecord = () => ({
  actor_id: randomUUID(),
  action: "update",
  resource_type: "device",
  resource_id: randomUUID(),
  status: "success",
  metadata: { k: "v" },
});

export const batchBody = (size: number) => JSON.stringify({ records: Array.from({ length: size }, sampleRecord) });

async function call(base: string, method: string, path: string, auth: string, body?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: auth, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body,
    // Bounded like every other loop of the bench: a hung Worker fails the run instead of stalling it.
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Organizations with one ingest token each, made through the API as the super_admin. */
export async function createOrgs(base: string, admin: Credentials, count: number, name = "Bench org"): Promise<Org[]> {
  const auth = basicAuth(admin);
  const orgs: Org[] = [];
  for (let i = 1; i <= count; i++) {
    const org = await call(base, "POST", "/api/v1/organizations", auth, JSON.stringify({ name: `${name} ${i}` }));
    const token = await call(base, "POST", `/api/v1/organizations/${org.id}/tokens`, auth, JSON.stringify({ name: "bench ingest", role: "ingest" }));
    orgs.push({ id: String(org.id), token: String(token.token) });
  }
  return orgs;
}

/** An org_admin API token for the organization: what a dashboard or an auditor's script reads with. */
export async function orgAdminToken(base: string, admin: Credentials, orgId: string): Promise<string> {
  const answer = await call(base, "POST", `/api/v1/organizations/${orgId}/tokens`, basicAuth(admin), JSON.stringify({ name: "bench reader", role: "org_admin" }));
  return String(answer.token);
}

export async function appendBatch(base: string, org: Org, body: string): Promise<AuditRecord[]> {
  const answer = await call(base, "POST", "/api/v1/audit/logs/batch", `Bearer ${org.token}`, body);
  return answer.records as AuditRecord[];
}

export type Validation = {
  valid: boolean;
  checked: number;
  broken_reason: string | null;
  last_seq: number | null;
  next_start_id: string | null;
  complete: boolean;
};

export async function validate(base: string, admin: Credentials, orgId: string, limit: number, startId?: string) {
  const query = new URLSearchParams({ organization_id: orgId, limit: String(limit), ...(startId ? { start_id: startId } : {}) });
  return (await call(base, "GET", `/api/v1/audit/validate?${query}`, basicAuth(admin))) as unknown as Validation;
}
