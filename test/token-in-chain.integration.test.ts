import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { secretDigest } from "../src/auth/secrets";
import { toBase64Url } from "../src/crypto/encoding";
import { api, appendBatch, appendRecord, chainRows, createTenant, recordBody, type Tenant, validate } from "./helpers";

// Tokens that name their organization are checked by its chain object inside the append
// (src/auth/org-tokens.ts): these pin that it refuses exactly what the D1 lookup refused.
let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

const createToken = async (role = "ingest") => {
  const created = await api(`/api/v1/organizations/${t.org.id}/tokens`, { method: "POST", as: t.admin.as, body: { name: `t-${crypto.randomUUID()}`, role } });
  expect(created.status).toBe(201);
  return { id: created.json.id as string, as: { bearer: created.json.token as string } };
};
const lastUsed = async (id: string) =>
  (await env.DB.prepare("SELECT last_used_at FROM api_tokens WHERE id = ?").bind(id).first<{ last_used_at: string | null }>())!.last_used_at;

describe("bearer tokens checked by the organization's chain object", () => {
  it("refuses a revoked token on the very next append, and appends nothing for it", async () => {
    const token = await createToken();
    expect((await appendRecord(token.as, recordBody())).status).toBe(201);
    const before = (await chainRows(t.org.id)).length;
    expect((await api(`/api/v1/organizations/${t.org.id}/tokens/${token.id}`, { method: "DELETE", as: t.admin.as })).status).toBe(204);

    const single = await appendRecord(token.as, recordBody());
    expect(single.status).toBe(401);
    expect(single.json.error.code).toBe("unauthorized");
    expect(single.headers.get("WWW-Authenticate")).toContain("Bearer");
    expect((await appendBatch(token.as, [recordBody(), recordBody()])).status).toBe(401);
    // One token_revoke record and nothing else.
    const rows = await chainRows(t.org.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)!.action).toBe("token_revoke");
    // The other tokens of the organization keep working.
    expect((await appendRecord(t.ingest.as, recordBody())).status).toBe(201);
  });

  it("accepts a token created after the chain object loaded the organization's tokens", async () => {
    expect((await appendRecord(t.ingest.as, recordBody())).status).toBe(201);
    const fresh = await createToken("org_admin");
    expect((await appendRecord(fresh.as, recordBody())).status).toBe(201);
  });

  it("answers 401, not the body's problems, to a token that does not verify", async () => {
    const forged = { bearer: `cp_${t.org.id}_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}` };
    const before = (await chainRows(t.org.id)).length;
    expect((await appendRecord(forged, recordBody())).status).toBe(401);
    const bad = await appendRecord(forged, { action: "nope" });
    expect(bad.status).toBe(401);
    expect(bad.json.error.code).toBe("unauthorized");
    expect((await api("/api/v1/audit/logs", { method: "POST", as: forged, rawBody: "x", headers: { "Content-Type": "text/plain" } })).status).toBe(401);
    expect((await chainRows(t.org.id)).length).toBe(before);
  });

  it("refuses another organization's token under this organization's name", async () => {
    const other = await createTenant();
    const secret = (t.ingest.as as { bearer: string }).bearer.slice(`cp_${t.org.id}_`.length);
    const renamed = { bearer: `cp_${other.org.id}_${secret}` };
    expect((await appendRecord(renamed, recordBody())).status).toBe(401);
    expect((await chainRows(other.org.id)).length).toBe(0);
  });

  it("still answers 422 with the field to a valid token, and 201 to tokens issued before they named their org", async () => {
    const bad = await appendRecord(t.ingest.as, recordBody({ action: "nope" }));
    expect(bad.status).toBe(422);
    expect(bad.json.error.details[0].field).toBe("action");
    const legacy = `cp_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
    await env.DB.prepare("INSERT INTO api_tokens (id, organization_id, name, role, token_hash, created_at) VALUES (?, ?, 'legacy', 'ingest', ?, ?)")
      .bind(crypto.randomUUID(), t.org.id, await secretDigest(legacy), new Date().toISOString())
      .run();
    expect((await appendRecord({ bearer: legacy }, recordBody())).status).toBe(201);
    expect((await validate({ organization_id: t.org.id })).json.valid).toBe(true);
  });

  it("keeps last_used_at to the minute through the chain's own batch", async () => {
    const token = await createToken();
    expect(await lastUsed(token.id)).toBeNull();
    expect((await appendRecord(token.as, recordBody())).status).toBe(201);
    const first = await lastUsed(token.id);
    expect(first).not.toBeNull();
    expect((await appendRecord(token.as, recordBody())).status).toBe(201);
    expect(await lastUsed(token.id)).toBe(first);
  });
});
