import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, chainRows, createTenant, type Credentials, getSuperAdmin, type Tenant, unique } from "./helpers";
import { postBackup, putService, serviceBody } from "./compliance-helpers";
import { eventBody, postEvent } from "./security-helpers";

let t: Tenant;
let sa: Credentials;
beforeAll(async () => {
  t = await createTenant();
  sa = (await getSuperAdmin()).as;
});

const LONE = "\ud800";
const notIJson = (field: string) => ({
  code: "validation_error",
  message: `Invalid ${field}`,
  details: [{ field, message: "not I-JSON: integer beyond ±(2^53−1), non-finite number or lone surrogate" }],
});
// Compared as JSON text: a failure message with a lone surrogate would break the test runner's channel.
const expectRefused = (res: { status: number; json: unknown }, field: string) =>
  expect(JSON.stringify([res.status, res.json])).toBe(JSON.stringify([422, { error: notIJson(field) }]));
const count = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;
const send = (method: string, path: string, as: Credentials, body: unknown) => api(path, { method, as, body });

describe("text that would reach a sealed record is I-JSON", () => {
  it("organizations: a name or a setting with a lone surrogate is a 422 and changes nothing", async () => {
    const name = unique("org");
    const created = await send("POST", "/api/v1/organizations", sa, { name: `${name}${LONE}` });
    expectRefused(created, "name");
    expect(await count("SELECT count(*) AS n FROM organizations WHERE instr(name, ?) > 0", name)).toBe(0);

    const chainBefore = (await chainRows(t.org.id)).length;
    const path = `/api/v1/organizations/${t.org.id}`;
    for (const [body, field] of [
      [{ name: `x${LONE}` }, "name"],
      [{ settings: { note: `a${LONE}` } }, "settings.note"],
      [{ settings: { [`k${LONE}`]: 1 } }, `settings.k${LONE}`],
      [{ settings: { big: 2 ** 53 + 2 } }, "settings.big"],
    ] as const) {
      const res = await send("PATCH", path, t.admin.as, body);
      expectRefused(res, field);
    }
    expect((await api(path, { as: t.admin.as })).json).toMatchObject({ name: t.org.name, settings: { tier: "PROFESSIONAL" } });
    expect((await chainRows(t.org.id)).length).toBe(chainBefore);
  });

  it("users and tokens: nothing created", async () => {
    const chainBefore = (await chainRows(t.org.id)).length;
    const username = unique("user");
    const user = await send("POST", `/api/v1/organizations/${t.org.id}/users`, t.admin.as, { username, password: `long enough ${LONE}`, role: "member" });
    expectRefused(user, "password");
    expect(await count("SELECT count(*) AS n FROM users WHERE username = ?", username)).toBe(0);

    const token = await send("POST", `/api/v1/organizations/${t.org.id}/tokens`, t.admin.as, { name: `ci ${LONE}`, role: "ingest" });
    expectRefused(token, "name");
    expect(await count("SELECT count(*) AS n FROM api_tokens WHERE organization_id = ?", t.org.id)).toBe(2);
    expect((await chainRows(t.org.id)).length).toBe(chainBefore);
  });

  it("services, backups and the webhook URL: nothing stored", async () => {
    const chainBefore = (await chainRows(t.org.id)).length;
    for (const field of ["name", "database_type", "version"]) {
      const res = await putService(t.admin.as, t.org.id, "svc_text", serviceBody({ [field]: `v${LONE}` }));
      expectRefused(res, field);
    }
    const cron = await putService(t.admin.as, t.org.id, "svc_text", serviceBody({ backup_policy: { schedule_enabled: true, schedule_cron: `0 3 * * ${LONE}`, retention_days: 1 } }));
    expectRefused(cron, "backup_policy.schedule_cron");
    expect(await count("SELECT count(*) AS n FROM services WHERE organization_id = ?", t.org.id)).toBe(0);

    expect((await putService(t.admin.as, t.org.id, "svc_text")).status).toBe(201);
    const withService = (await chainRows(t.org.id)).length;
    for (const field of ["type", "encryption_algorithm"]) {
      const res = await postBackup(t.admin.as, t.org.id, "svc_text", { [field]: `x${LONE}` });
      expectRefused(res, field);
    }
    expect(await count("SELECT count(*) AS n FROM service_backups WHERE organization_id = ?", t.org.id)).toBe(0);

    const hook = await send("PUT", `/api/v1/organizations/${t.org.id}/webhook`, t.admin.as, { url: `https://hooks.example.com/${LONE}` });
    expectRefused(hook, "url");
    expect(await count("SELECT count(*) AS n FROM webhooks WHERE organization_id = ?", t.org.id)).toBe(0);
    expect([chainBefore + 1, (await chainRows(t.org.id)).length]).toEqual([withService, withService]);
  });

  it("security events and ignored export fields", async () => {
    const events = () => count("SELECT count(*) AS n FROM security_events WHERE organization_id = ?", t.org.id);
    const before = await events();
    const event = await postEvent(t.ingest.as, eventBody({ description: `seen ${LONE}` }));
    expectRefused(event, "description");
    expect(await events()).toBe(before);

    const chainBefore = (await chainRows(t.org.id)).length;
    const exported = await send("POST", "/api/v1/audit/export", t.admin.as, { [`note${LONE}`]: 1 });
    expectRefused(exported, `note${LONE}`);
    expect((await chainRows(t.org.id)).length).toBe(chainBefore);
  });
});
