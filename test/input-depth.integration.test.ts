import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, chainRows, createTenant, type Credentials, getSuperAdmin, recordBody, type Tenant, unique } from "./helpers";
import { serviceBody } from "./compliance-helpers";
import { eventBody } from "./security-helpers";

let t: Tenant;
let sa: Credentials;
beforeAll(async () => {
  t = await createTenant();
  sa = (await getSuperAdmin()).as;
});

/** JSON text of an object nested `depth` levels (`{}` is one), built as text: no recursion anywhere. */
const nested = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`;
/** `body` as JSON text with the member at `field` replaced by `rawValue` (already JSON text). */
const withRaw = (body: Record<string, unknown>, field: string, rawValue: string) =>
  JSON.stringify({ ...body, [field]: "__RAW__" }).replace('"__RAW__"', rawValue);
const send = (path: string, rawBody: string, as: Credentials, method = "POST") =>
  api(path, { method, as, rawBody, headers: { "Content-Type": "application/json" } });
const tooDeep = (field: string) => ({ code: "validation_error", message: `Invalid ${field}`, details: [{ field, message: "nests deeper than 64 levels" }] });
const count = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;
const rowsOf = (orgId: string) => count("SELECT count(*) AS n FROM audit_logs WHERE organization_id = ?", orgId);

describe("JSON nesting", () => {
  it("an appended record's field may nest 64 levels and reads back as sent; 65 is a 422 naming the field", async () => {
    const before = await rowsOf(t.org.id);
    const ok = await send("/api/v1/audit/logs", withRaw(recordBody(), "metadata", nested(64)), t.ingest.as);
    expect(ok.status).toBe(201);
    const read = await api(`/api/v1/audit/logs/${ok.json.id}`, { as: t.admin.as });
    expect(read.json.metadata).toEqual(JSON.parse(nested(64)));
    for (const field of ["metadata", "previous_state", "new_state"]) {
      const res = await send("/api/v1/audit/logs", withRaw(recordBody(), field, nested(65)), t.ingest.as);
      expect([res.status, res.json]).toEqual([422, { error: tooDeep(field) }]);
    }
    const changes = await send("/api/v1/audit/logs", withRaw(recordBody(), "changes", `{"x":{"old":null,"new":${nested(63)}}}`), t.ingest.as);
    expect([changes.status, changes.json]).toEqual([422, { error: tooDeep("changes") }]);
    expect(await rowsOf(t.org.id)).toBe(before + 1);
  });

  it("a batch or an import names the record's field", async () => {
    const before = await rowsOf(t.org.id);
    const records = [recordBody(), recordBody(), recordBody(), "__DEEP__"];
    const deepRecord = withRaw(recordBody(), "new_state", nested(65));
    const batch = await send("/api/v1/audit/logs/batch", JSON.stringify({ records }).replace('"__DEEP__"', deepRecord), t.ingest.as);
    expect([batch.status, batch.json]).toEqual([422, { error: tooDeep("records.3.new_state") }]);

    const legacy = { ...recordBody(), id: crypto.randomUUID(), timestamp: "2020-01-01T00:00:00Z" };
    const importBody = JSON.stringify({ organization_id: t.org.id, records: ["__DEEP__"] }).replace('"__DEEP__"', withRaw(legacy, "metadata", nested(66)));
    const imported = await send("/api/v1/audit/import", importBody, sa);
    expect([imported.status, imported.json]).toEqual([422, { error: tooDeep("records.0.metadata") }]);
    expect(await rowsOf(t.org.id)).toBe(before);
  });

  it("security event metadata and organization settings are bounded alike", async () => {
    const events = () => count("SELECT count(*) AS n FROM security_events WHERE organization_id = ?", t.org.id);
    const eventsBefore = await events();
    const event = await send("/api/v1/audit/security-events", withRaw(eventBody(), "metadata", nested(65)), t.ingest.as);
    expect([event.status, event.json]).toEqual([422, { error: tooDeep("metadata") }]);
    expect(await events()).toBe(eventsBefore);

    const chainBefore = (await chainRows(t.org.id)).length;
    const patch = await send(`/api/v1/organizations/${t.org.id}`, `{"settings":{"deep":${nested(64)}}}`, t.admin.as, "PATCH");
    expect([patch.status, patch.json]).toEqual([422, { error: tooDeep("settings") }]);
    expect((await api(`/api/v1/organizations/${t.org.id}`, { as: t.admin.as })).json.settings).toEqual({ tier: "PROFESSIONAL" });
    expect((await chainRows(t.org.id)).length).toBe(chainBefore);
  });

  it("100,000 levels is refused before parsing on every JSON route, naming where, and stores nothing", async () => {
    const before = await rowsOf(t.org.id);
    const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
    const batch = await send("/api/v1/audit/logs/batch", `{"records":[${withRaw(recordBody(), "metadata", deep(100_000))}]}`, t.ingest.as);
    expect([batch.status, batch.json]).toEqual([422, { error: tooDeep("records.0.metadata") }]);
    const bare = await send("/api/v1/audit/logs/batch", deep(100_000), t.ingest.as);
    expect([bare.status, bare.json]).toEqual([422, { error: tooDeep("0.0.0") }]);
    const unclosed = await send("/api/v1/audit/logs/batch", "[".repeat(100_000), t.ingest.as);
    expect([unclosed.status, unclosed.json]).toEqual([422, { error: tooDeep("0.0.0") }]);
    // ~1,000 levels used to be stored, though Python's json cannot read it back.
    const thousand = await send("/api/v1/audit/logs", withRaw(recordBody(), "metadata", nested(1000)), t.ingest.as);
    expect([thousand.status, thousand.json]).toEqual([422, { error: tooDeep("metadata.a.a") }]);
    expect(await rowsOf(t.org.id)).toBe(before);

    // As deep as each route's byte limit lets a body be.
    const org = t.org.id;
    const routes: [string, string, Credentials, string][] = [
      ["POST", "/api/v1/audit/logs", t.ingest.as, withRaw(recordBody(), "metadata", deep(60_000))],
      ["POST", "/api/v1/audit/import", sa, withRaw({ organization_id: org }, "records", `[${withRaw(recordBody(), "metadata", deep(100_000))}]`)],
      ["POST", "/api/v1/compliance/verify", t.admin.as, withRaw({}, "report", deep(100_000))],
      ["POST", "/api/v1/audit/security-events", t.ingest.as, withRaw(eventBody(), "metadata", deep(30_000))],
      ["POST", "/api/v1/organizations", sa, withRaw({ name: unique("org") }, "settings", deep(30_000))],
      ["PATCH", `/api/v1/organizations/${org}`, t.admin.as, withRaw({}, "settings", deep(30_000))],
      ["POST", `/api/v1/organizations/${org}/tokens`, t.admin.as, withRaw({ role: "ingest" }, "name", deep(30_000))],
      ["PUT", `/api/v1/organizations/${org}/services/svc_deep`, t.admin.as, withRaw(serviceBody(), "name", deep(30_000))],
      ["PUT", `/api/v1/organizations/${org}/webhook`, t.admin.as, withRaw({}, "url", deep(8_000))],
      ["POST", "/api/v1/audit/export", t.admin.as, withRaw({}, "extra", deep(8_000))],
      ["POST", "/api/v1/audit/exports", t.admin.as, withRaw({}, "actions", deep(8_000))],
    ];
    for (const [method, path, as, body] of routes) {
      const res = await send(path, body, as, method);
      expect([method, path, res.status, res.json.error.code]).toEqual([method, path, 422, "validation_error"]);
    }
    expect(await rowsOf(t.org.id)).toBe(before);
    expect(await count("SELECT count(*) AS n FROM services WHERE organization_id = ?", org)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM webhooks WHERE organization_id = ?", org)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM api_tokens WHERE organization_id = ?", org)).toBe(2);
  });
});

describe("member names as sent", () => {
  const invalidField = (field: string, message: string) => ({ code: "validation_error", message: `Invalid ${field}`, details: [{ field, message }] });
  const repeated = "repeats a member name of its object (I-JSON, RFC 7493 §2.3): JSON parsers would keep only one of them";
  const proto = '"__proto__" is not accepted as a member name: JavaScript objects cannot hold it as data';

  it("a repeated member name, or __proto__, is a 422 naming it, and nothing is sealed (a parser would have kept one silently)", async () => {
    const before = await rowsOf(t.org.id);
    const body = JSON.stringify(recordBody({ action: "update" }));
    const twice = await send("/api/v1/audit/logs", `${body.slice(0, -1)},"action":"delete"}`, t.ingest.as);
    expect([twice.status, twice.json]).toEqual([422, { error: invalidField("action", repeated) }]);
    const nestedTwice = await send("/api/v1/audit/logs", withRaw(recordBody(), "metadata", '{"a":1,"a":2}'), t.ingest.as);
    expect([nestedTwice.status, nestedTwice.json]).toEqual([422, { error: invalidField("metadata.a", repeated) }]);
    const hidden = await send("/api/v1/audit/logs", withRaw(recordBody(), "metadata", '{"__proto__":{"admin":true},"k":1}'), t.ingest.as);
    expect([hidden.status, hidden.json]).toEqual([422, { error: invalidField("metadata.__proto__", proto) }]);
    const batch = await send("/api/v1/audit/logs/batch", JSON.stringify({ records: [recordBody(), "__R__"] }).replace('"__R__"', withRaw(recordBody(), "changes", '{"\\u005f_proto__":{"old":1,"new":2}}')), t.ingest.as);
    expect([batch.status, batch.json]).toEqual([422, { error: invalidField("records.1.changes.__proto__", proto) }]);
    expect(await rowsOf(t.org.id)).toBe(before);
  });

  it("equal names in different objects are fine", async () => {
    const ok = await send("/api/v1/audit/logs", withRaw(recordBody(), "metadata", '{"a":{"a":1},"b":[{"a":1},{"a":2}]}'), t.ingest.as);
    expect(ok.status).toBe(201);
    expect(ok.json.metadata).toEqual({ a: { a: 1 }, b: [{ a: 1 }, { a: 2 }] });
  });
});
