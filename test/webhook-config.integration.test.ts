// Configuring the webhook: the URL rules, the roles, and what the chain keeps. Nothing here delivers
// (deliveries and cron runs live in security-webhooks.integration.test.ts).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { webhooks } from "../src/db/schema";
import worker from "../src/index";
import { openWebhookSecret } from "../src/security/webhooks";
import { api, chainRows, createTenant, type Credentials, db, getSuperAdmin, sha256Hex, type Tenant, utf8 } from "./helpers";
import { putWebhook, receiver } from "./security-helpers";

let sa: Credentials;
beforeAll(async () => {
  sa = (await getSuperAdmin()).as;
});

const hookPath = (orgId: string) => `/api/v1/organizations/${orgId}/webhook`;

const fingerprint = async (url: string) => ({ webhook_origin: new URL(url).origin, webhook_url_sha256: await sha256Hex(utf8(url)) });

/** PUT as a deployed Worker would answer it: without the ALLOW_INSECURE_WEBHOOKS the tests run with. */
async function putWebhookInProduction(as: Credentials, orgId: string, url: string) {
  const authorization = as && "basic" in as ? `Basic ${as.basic}` : as && "bearer" in as ? `Bearer ${as.bearer}` : "";
  const request = new Request(`https://chainproof.test${hookPath(orgId)}`, {
    method: "PUT",
    headers: { Authorization: authorization, "Content-Type": "application/json" },
    body: JSON.stringify({ url }),
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ALLOW_INSECURE_WEBHOOKS: "false" }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, json: (await res.json()) as any };
}

/** Refused in production and in test mode alike: [URL, what the 422 message names]. */
const REFUSED: [string, string][] = [
  ["hooks example", "absolute URL"],
  ["", "absolute URL"],
  ["ftp://hooks.example.com/x", "must use"],
  ["https://user:pw@hooks.example.com/x", "credentials"],
  ["https://10.0.0.8/hook", "10.0.0.0/8"],
  ["https://172.20.1.1/hook", "172.16.0.0/12"],
  ["https://192.168.1.10/hook", "192.168.0.0/16"],
  ["https://169.254.169.254/latest", "169.254.0.0/16"],
  ["https://0.0.0.0/hook", "0.0.0.0/8"],
  ["https://100.64.1.1/hook", "100.64.0.0/10"],
  ["https://198.18.0.1/hook", "198.18.0.0/15"],
  ["https://192.0.0.8/hook", "192.0.0.0/24"],
  ["https://192.0.2.1/hook", "192.0.2.0/24"],
  ["https://198.51.100.1/hook", "198.51.100.0/24"],
  ["https://203.0.113.1/hook", "203.0.113.0/24"],
  ["https://240.0.0.1/hook", "240.0.0.0/4"],
  ["https://224.0.0.251/hook", "224.0.0.0/4"],
  ["https://[::ffff:127.0.0.1]/hook", "::ffff:0:0/96"],
  ["https://[::ffff:7f00:1]/hook", "::ffff:0:0/96"],
  ["https://[::127.0.0.1]/hook", "::/96"],
  ["https://[64:ff9b::a00:1]/hook", "64:ff9b::/96"],
  ["https://[64:ff9b:1::1]/hook", "64:ff9b:1::/48"],
  ["https://[2002:a00:1::1]/hook", "2002::/16"],
  ["https://[2001::1]/hook", "2001::/32"],
  ["https://[fd00::1]/hook", "fc00::/7"],
  ["https://[fe80::1]/hook", "fe80::/10"],
  ["https://[ff02::1]/hook", "ff00::/8"],
  ["https://[::]/hook", "::/128"],
  ["https://printer.local/hook", ".local"],
  ["https://metadata.google.internal/hook", ".internal"],
  ["https://nas.home.arpa/hook", ".arpa"],
  ["https://intranet/hook", "single-label"],
];

/** Loopback in every spelling: refused in production, admitted in test mode (the receiver is on 127.0.0.1). */
const LOOPBACK = [
  "https://127.0.0.1/hook",
  "https://2130706433/hook",
  "https://0x7f.1/hook",
  "https://017700000001/hook",
  "https://[::1]/hook",
  "https://localhost/hook",
  "https://api.localhost/hook",
  "http://hooks.example.com/hook",
];

describe("configuring the webhook", () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await createTenant();
  });

  it("PUT answers the secret once; it is stored only encrypted; GET never shows it", async () => {
    const url = `${receiver()}/ok/${t.org.id}`;
    const res = await putWebhook(t.admin.as, t.org.id, url);
    expect(res.status).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(["created_at", "secret", "url"]);
    expect(res.json.url).toBe(url);
    const secret: string = res.json.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const [row] = await db().select().from(webhooks).where(eq(webhooks.organizationId, t.org.id));
    expect(JSON.stringify(row)).not.toContain(secret.slice(6));
    expect(await openWebhookSecret(env.SECRET_KEY, t.org.id, row!.secretCiphertext)).toBe(secret);

    const got = await api(hookPath(t.org.id), { as: t.admin.as });
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ url, created_at: res.json.created_at, updated_at: res.json.created_at });
  });

  it("is self-audited as a config_change of a setting, without the secret", async () => {
    const first = await putWebhook(t.adminToken.as, t.org.id, `${receiver()}/ok/${t.org.id}/v2`);
    const again = await putWebhook(t.admin.as, t.org.id, `${receiver()}/ok/${t.org.id}/v3`);
    expect(again.json.secret).not.toBe(first.json.secret);
    const got = await api(hookPath(t.org.id), { as: t.admin.as });
    expect(got.json.created_at).toBe(first.json.created_at);
    expect(got.json.updated_at >= got.json.created_at).toBe(true);
    expect((await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as })).status).toBe(204);

    const audit = (await chainRows(t.org.id)).filter((r) => r.action === "config_change" && r.resource_type === "setting");
    const [v1, v2, v3] = await Promise.all(["", "/v2", "/v3"].map((suffix) => fingerprint(`${receiver()}/ok/${t.org.id}${suffix}`)));
    expect(audit.map((r) => [JSON.parse(r.previous_state ?? "null"), JSON.parse(r.new_state ?? "null")])).toEqual([
      [null, v1],
      [v1, v2],
      [v2, v3],
      [v3, null],
    ]);
    const text = JSON.stringify(await chainRows(t.org.id));
    for (const secret of [first.json.secret, again.json.secret]) expect(text).not.toContain(secret);

    expect((await api(hookPath(t.org.id), { as: t.admin.as })).status).toBe(404);
    expect((await api(hookPath(t.org.id), { method: "DELETE", as: t.admin.as })).status).toBe(404);
  });

  it.each(REFUSED)("refuses %s (%s) with a 422 on url, changing nothing, even where test mode admits loopback", async (url, reason) => {
    const chainBefore = (await chainRows(t.org.id)).length;
    for (const put of [putWebhook, putWebhookInProduction]) {
      const res = await put(t.admin.as, t.org.id, url);
      expect(res.status).toBe(422);
      expect(res.json.error.details).toEqual([{ field: "url", message: expect.stringContaining(reason) }]);
    }
    expect((await api(hookPath(t.org.id), { as: t.admin.as })).status).toBe(404);
    expect(await chainRows(t.org.id)).toHaveLength(chainBefore);
  });

  it.each(LOOPBACK)("in production refuses loopback %s with a 422 on url", async (url) => {
    const res = await putWebhookInProduction(t.admin.as, t.org.id, url);
    expect(res.status).toBe(422);
    expect(res.json.error.details).toEqual([{ field: "url", message: expect.stringMatching(/loopback|\.localhost|must use https/) }]);
    expect((await api(hookPath(t.org.id), { as: t.admin.as })).status).toBe(404);
  });

  it("in production accepts a public https URL", async () => {
    const u = await createTenant();
    for (const url of ["https://hooks.example.com/chainproof?token=abc", "https://8.8.8.8/x", "https://[2606:4700:4700::1111]/x"]) {
      const res = await putWebhookInProduction(u.admin.as, u.org.id, url);
      expect(res.status).toBe(201);
      expect(res.json.url).toBe(url);
    }
    expect((await api(hookPath(u.org.id), { method: "DELETE", as: u.admin.as })).status).toBe(204);
  });

  it("the chain keeps only the origin and a SHA-256 of the URL, never its path or query", async () => {
    const u = await createTenant();
    const url = `${receiver()}/ok/${u.org.id}/hooks/s3cr3t-path-token?token=q5ery-s3cr3t&x=1`;
    expect((await putWebhook(u.admin.as, u.org.id, url)).status).toBe(201);
    expect((await api(hookPath(u.org.id), { method: "DELETE", as: u.admin.as })).status).toBe(204);

    const rows = (await chainRows(u.org.id)).filter((r) => r.resource_type === "setting");
    expect(rows).toHaveLength(2);
    const expected = { webhook_origin: new URL(receiver()).origin, webhook_url_sha256: await sha256Hex(utf8(url)) };
    expect(JSON.parse(rows[0]!.new_state)).toEqual(expected);
    expect(JSON.parse(rows[1]!.previous_state)).toEqual(expected);
    const text = JSON.stringify(rows);
    for (const secretPart of ["s3cr3t-path-token", "q5ery-s3cr3t", "/hooks/", "token="]) expect(text).not.toContain(secretPart);
  });

  it("with ALLOW_INSECURE_WEBHOOKS (set for the tests) http and loopback are accepted", async () => {
    expect(env.ALLOW_INSECURE_WEBHOOKS).toBe("true");
    const u = await createTenant();
    for (const url of ["http://localhost:9/x", "http://[::1]:9/x", "https://hooks.example.com/chainproof"]) {
      expect((await putWebhook(u.admin.as, u.org.id, url)).status).toBe(201);
    }
    expect((await api(hookPath(u.org.id), { method: "DELETE", as: u.admin.as })).status).toBe(204);
  });

  it("org_admin and super_admin only; another organization's is a 404 and stays untouched", async () => {
    const u = await createTenant();
    const other = await createTenant();
    const url = `${receiver()}/ok/${u.org.id}`;
    for (const as of [u.member.as, u.ingest.as]) {
      expect((await putWebhook(as, u.org.id, url)).status).toBe(403);
      expect((await api(hookPath(u.org.id), { as })).status).toBe(403);
      expect((await api(hookPath(u.org.id), { method: "DELETE", as })).status).toBe(403);
    }
    const configured = await putWebhook(sa, u.org.id, url);
    expect(configured.status).toBe(201);
    for (const as of [other.admin.as, other.adminToken.as, other.ingest.as, other.member.as]) {
      for (const res of [
        await putWebhook(as, u.org.id, `${receiver()}/ok/hijack`),
        await api(hookPath(u.org.id), { as }),
        await api(hookPath(u.org.id), { method: "DELETE", as }),
      ]) {
        expect(res.status).toBe(404);
        expect(res.json).toEqual({ error: { code: "not_found", message: "Organization not found" } });
      }
    }
    expect((await api(hookPath(u.org.id), { as: sa })).json.url).toBe(url);
    expect((await api(hookPath(crypto.randomUUID()), { as: sa })).status).toBe(404);
    await api(hookPath(u.org.id), { method: "DELETE", as: sa });
  });
});

