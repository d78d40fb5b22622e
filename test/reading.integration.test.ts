import { beforeAll, describe, expect, it } from "vitest";
import { api, appendBatch, createTenant, getSuperAdmin, recordBody, type Tenant } from "./helpers";

let a: Tenant;
let b: Tenant;
const alice = crypto.randomUUID();
const bob = crypto.randomUUID();
const router = crypto.randomUUID();
const site = crypto.randomUUID();
let aRecords: any[];
let bRecords: any[];

// Twelve records for org A across three days, with a spread of every filterable field.
const seedA = () =>
  Array.from({ length: 12 }, (_, i) =>
    recordBody({
      actor_id: i % 3 === 0 ? bob : alice,
      action: ["create", "update", "delete", "login"][i % 4],
      resource_type: i < 6 ? "device" : "firewall_rule",
      resource_id: i % 2 === 0 ? router : crypto.randomUUID(),
      status: i % 5 === 0 ? "failure" : "success",
      site_id: i < 4 ? site : null,
      timestamp: `2026-05-0${1 + Math.floor(i / 4)}T${String(10 + (i % 4)).padStart(2, "0")}:00:00Z`,
      metadata: { note: i === 7 ? "100%_literal" : i === 8 ? "100 literal" : `note ${i}`, i },
    }),
  );

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(), createTenant()]);
  aRecords = (await appendBatch(a.ingest.as, seedA())).json.records;
  bRecords = (await appendBatch(b.ingest.as, [recordBody({ actor_id: alice, resource_id: router }), recordBody()])).json.records;
});

const list = (as: any, query: string) => api(`/api/v1/audit/logs?${query}`, { as });
const idsOf = (res: { json: { items: { id: string }[] } }) => res.json.items.map((r) => r.id);
const expected = (pred: (r: any) => boolean) =>
  aRecords
    .filter(pred)
    .sort((x, y) => (x.timestamp === y.timestamp ? y.seq - x.seq : x.timestamp < y.timestamp ? 1 : -1))
    .map((r) => r.id);

describe("GET /api/v1/audit/logs", () => {
  it("newest first by timestamp, scoped to the caller's organization", async () => {
    const res = await list(a.admin.as, "per_page=200");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ total: 12, page: 1, per_page: 200, pages: 1 });
    expect(idsOf(res)).toEqual(expected(() => true));
    expect(idsOf(res)).not.toContain(bRecords[0].id);
  });

  it.each([
    ["start_date=2026-05-02", (r: any) => r.timestamp >= "2026-05-02"],
    ["end_date=2026-05-01", (r: any) => r.timestamp < "2026-05-02"],
    ["start_date=2026-05-01T11:30:00%2B00:00&end_date=2026-05-02T11:00:00Z", (r: any) => r.timestamp >= "2026-05-01T11:30" && r.timestamp <= "2026-05-02T11:00:00.000Z"],
    ["action=create", (r: any) => r.action === "create"],
    ["action=create&action=delete", (r: any) => ["create", "delete"].includes(r.action)],
    ["resource_type=firewall_rule", (r: any) => r.resource_type === "firewall_rule"],
    ["resource_type=device&resource_type=firewall_rule", () => true],
    [`resource_id=${router}`, (r: any) => r.resource_id === router],
    [`actor_id=${bob}`, (r: any) => r.actor_id === bob],
    ["status=failure", (r: any) => r.status === "failure"],
    [`site_id=${site}`, (r: any) => r.site_id === site],
    ["search=100%25_", (r: any) => r.metadata.note === "100%_literal"],
    ["search=note%201", (r: any) => /^note 1/.test(r.metadata.note)],
    [`action=update&actor_id=${alice}&status=success&start_date=2026-05-02`, (r: any) => r.action === "update" && r.actor_id === alice && r.status === "success" && r.timestamp >= "2026-05-02"],
  ])("%s", async (query, pred) => {
    const res = await list(a.admin.as, `${query}&per_page=200`);
    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual(expected(pred));
    expect(res.json.total).toBe(expected(pred).length);
  });

  it("search finds a value by its own text, quotes, backslashes and tabs included; JSON punctuation matches no structure", async () => {
    const values = { path: "C:\\temp\\T1", quote: 'say "hi" T2', tab: "a\tb T3" };
    const c = await createTenant();
    const res = await appendBatch(c.ingest.as, [recordBody({ metadata: values })]);
    expect(res.status).toBe(201);
    const id = res.json.records[0].id;
    for (const text of ["C:\\temp\\T1", 'say "hi"', "a\tb", "emp\\T"]) {
      const found = await list(c.admin.as, `search=${encodeURIComponent(text)}&per_page=200`);
      expect([text, found.json.total, idsOf(found)]).toEqual([text, 1, [id]]);
    }
    expect((await list(c.admin.as, `search=${encodeURIComponent('":"')}`)).json.total).toBe(0);
    expect((await list(c.admin.as, `search=${encodeURIComponent("C:\\\\temp")}`)).json.total).toBe(0);
  });

  it("search never matches inside an escape or across members: the decoded keys and values decide", async () => {
    const c = await createTenant();
    const appended = await appendBatch(c.ingest.as, [
      recordBody({ metadata: { m: "ends with \\", lines: "first line\nthe second", path: "C:\\temp", n: 42, list: [1, 2], flag: true } }),
      recordBody({ metadata: { plain: "nothing escaped", n: 7 } }),
    ]);
    expect(appended.status).toBe(201);
    const [escaped, plain] = appended.json.records.map((r: { id: string }) => r.id);
    const found = async (text: string) => idsOf(await list(c.admin.as, `search=${encodeURIComponent(text)}&per_page=200`));
    // Each of these occurs in the stored JSON text only across an escape's characters or two members.
    for (const text of ['"', "\\\"", "nthe", "\t", "\temp", "1,2", "42,", "e,f"]) expect([text, await found(text)]).toEqual([text, []]);
    // What each value holds is found, in the row with backslashes as in the row without.
    for (const text of ["ends with \\", "line\nthe", "C:\\temp", "42", "true", "first", "lines"]) expect([text, await found(text)]).toEqual([text, [escaped]]);
    for (const text of ["nothing", "7", "plain"]) expect([text, await found(text)]).toEqual([text, [plain]]);
  });

  it("pages: arithmetic and slices", async () => {
    const all = expected(() => true);
    const p1 = await list(a.admin.as, "per_page=5&page=1");
    const p3 = await list(a.admin.as, "per_page=5&page=3");
    expect(p1.json).toMatchObject({ total: 12, page: 1, per_page: 5, pages: 3 });
    expect(idsOf(p1)).toEqual(all.slice(0, 5));
    expect(idsOf(p3)).toEqual(all.slice(10, 12));
    expect(p3.json.pages).toBe(3);
    expect((await list(a.admin.as, "per_page=5&page=4")).status).toBe(422);
    const empty = await list(a.admin.as, `actor_id=${crypto.randomUUID()}`);
    expect(empty.json).toMatchObject({ items: [], total: 0, page: 1, pages: 0 });
  });

  it.each([
    ["per_page=201", "per_page"],
    ["per_page=0", "per_page"],
    ["page=0", "page"],
    ["page=abc", "page"],
    ["action=hack", "action"],
    ["resource_type=car", "resource_type"],
    ["status=maybe", "status"],
    [`search=${"x".repeat(129)}`, "search"],
    ["start_date=yesterday", "start_date"],
    ["start_date=2026-05-03&end_date=2026-05-01", "start_date"],
    ["actor_id=bob", "actor_id"],
    ["colour=red", "colour"],
  ])("%s → 422 naming %s", async (query, field) => {
    const res = await list(a.admin.as, query);
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: { field: string }) => d.field)).toContain(field);
  });

  it("an unknown action lists what is allowed", async () => {
    const res = await list(a.admin.as, "action=hack");
    expect(res.json.error.details[0].message).toContain("report_generate");
  });

  it("super_admin sees every organization, or one; others may not name a foreign one", async () => {
    const sa = (await getSuperAdmin()).as;
    const all = await list(sa, `resource_id=${router}&per_page=200`);
    expect(idsOf(all)).toEqual(expect.arrayContaining([bRecords[0].id, ...expected((r) => r.resource_id === router)]));
    const one = await list(sa, `organization_id=${b.org.id}&per_page=200`);
    expect(idsOf(one).sort()).toEqual(bRecords.map((r) => r.id).sort());
    expect((await list(a.admin.as, `organization_id=${b.org.id}`)).status).toBe(404);
    expect((await list(a.member.as, "")).status).toBe(403);
    expect((await list(a.ingest.as, "")).status).toBe(403);
  });
});

describe("lookups", () => {
  it("one record: own org 200, another tenant's 404, a member only its own", async () => {
    const mine = await api(`/api/v1/audit/logs/${aRecords[0].id}`, { as: a.admin.as });
    expect(mine.status).toBe(200);
    expect(mine.json).toEqual(aRecords[0]);
    const foreign = await api(`/api/v1/audit/logs/${bRecords[0].id}`, { as: a.admin.as });
    const unknown = await api(`/api/v1/audit/logs/${crypto.randomUUID()}`, { as: a.admin.as });
    expect(foreign.status).toBe(404);
    expect(foreign.text).toBe(unknown.text);
    expect((await api(`/api/v1/audit/logs/${aRecords[0].id}`, { as: a.member.as })).status).toBe(403);
  });

  it("by resource: every record about it in the caller's org; a foreign or unknown resource is 404", async () => {
    const res = await api(`/api/v1/audit/logs/resource/device/${router}`, { as: a.admin.as });
    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual(expected((r) => r.resource_id === router && r.resource_type === "device"));
    const bOnly = bRecords[1].resource_id;
    expect((await api(`/api/v1/audit/logs/resource/device/${bOnly}`, { as: a.admin.as })).status).toBe(404);
    expect((await api(`/api/v1/audit/logs/resource/device/${crypto.randomUUID()}`, { as: a.admin.as })).status).toBe(404);
    expect((await api(`/api/v1/audit/logs/resource/spaceship/${router}`, { as: a.admin.as })).status).toBe(422);
  });

  it("by user: org_admin any actor of its org; a foreign actor is 404", async () => {
    const res = await api(`/api/v1/audit/logs/user/${bob}`, { as: a.admin.as });
    expect(idsOf(res)).toEqual(expected((r) => r.actor_id === bob));
    const bActor = bRecords[1].actor_id;
    expect((await api(`/api/v1/audit/logs/user/${bActor}`, { as: a.admin.as })).status).toBe(404);
  });

  it("by user: a super_admin reads any organization's user platform-wide, records or not, as that organization's admin does", async () => {
    const sa = (await getSuperAdmin()).as;
    const z = await createTenant();
    const path = `/api/v1/audit/logs/user/${z.member.user.id}`;
    const asAdmin = await api(path, { as: z.admin.as });
    expect(asAdmin.status).toBe(200);
    const platformWide = await api(path, { as: sa });
    expect(platformWide.status).toBe(200);
    expect(platformWide.json).toEqual(asAdmin.json);
    expect((await api(`${path}?organization_id=${z.org.id}`, { as: sa })).json).toEqual(asAdmin.json);
    expect((await api(`/api/v1/audit/logs/user/${crypto.randomUUID()}`, { as: sa })).status).toBe(404);
  });

  it("by user: a member reads its own history, 403 for another actor of its org, 404 for another org's", async () => {
    const own = await appendBatch(a.ingest.as, [recordBody({ actor_id: a.member.user.id })]);
    const res = await api(`/api/v1/audit/logs/user/${a.member.user.id}`, { as: a.member.as });
    expect(res.status).toBe(200);
    expect(idsOf(res)).toEqual([own.json.records[0].id]);
    expect((await api(`/api/v1/audit/logs/user/${bob}`, { as: a.member.as })).status).toBe(403);
    // Another user of the member's organization with no records yet is still theirs to refuse, not unknown.
    expect((await api(`/api/v1/audit/logs/user/${a.admin.user.id}`, { as: a.member.as })).status).toBe(403);
    expect((await api(`/api/v1/audit/logs/user/${a.admin.user.id}`, { as: a.admin.as })).status).toBe(200);
    expect((await api(`/api/v1/audit/logs/user/${bRecords[1].actor_id}`, { as: a.member.as })).status).toBe(404);
    expect((await api(`/api/v1/audit/logs/${own.json.records[0].id}`, { as: a.member.as })).status).toBe(200);
  });
});

describe("activity summary", () => {
  it("counts by action, resource type, status, top actors and per day", async () => {
    const res = await api("/api/v1/audit/summary/activity?start_date=2026-05-01&end_date=2026-05-03", { as: a.admin.as });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      start_date: "2026-05-01T00:00:00.000Z",
      end_date: "2026-05-03T23:59:59.999Z",
      total: 12,
      by_action: { create: 3, update: 3, delete: 3, login: 3 },
      by_resource_type: { device: 6, firewall_rule: 6 },
      by_status: { failure: 3, success: 9 },
      per_day: [
        { date: "2026-05-01", count: 4 },
        { date: "2026-05-02", count: 4 },
        { date: "2026-05-03", count: 4 },
      ],
    });
    expect(res.json.top_actors).toEqual([
      { actor_id: alice, count: 8 },
      { actor_id: bob, count: 4 },
    ]);
  });

  it("defaults to the last 30 days", async () => {
    const res = await api("/api/v1/audit/summary/activity", { as: b.admin.as });
    expect(res.json.total).toBe(2);
    const span = Date.parse(res.json.end_date) - Date.parse(res.json.start_date);
    expect(span).toBe(30 * 24 * 60 * 60 * 1000);
    expect((await api("/api/v1/audit/summary/activity", { as: a.member.as })).status).toBe(403);
  });
});

describe("reference data", () => {
  it.each(["actions", "resource-types", "security-event-types"])("/%s for every role, ingest included", async (name) => {
    for (const as of [a.ingest.as, a.member.as, a.admin.as, (await getSuperAdmin()).as]) {
      const res = await api(`/api/v1/audit/${name}`, { as });
      expect(res.status).toBe(200);
      expect(res.json.items.length).toBeGreaterThan(10);
    }
    expect((await api(`/api/v1/audit/${name}`)).status).toBe(401);
  });

  it("covers the enumerations the spec names", async () => {
    const actions = (await api("/api/v1/audit/actions", { as: a.ingest.as })).json.items;
    expect(actions).toEqual(expect.arrayContaining(["create", "login_failed", "chain_validate", "retention_prune", "key_rotate", "report_generate"]));
    const types = (await api("/api/v1/audit/security-event-types", { as: a.ingest.as })).json.items;
    expect(types).toContain("chain_integrity_failure");
  });
});

describe("D1 sessions", () => {
  it("a write answers with a bookmark; a read that sends it back sees the write", async () => {
    const res = await appendBatch(a.ingest.as, [recordBody({ metadata: { bookmark: true } })]);
    const bookmark = res.headers.get("X-D1-Bookmark");
    expect(bookmark).toBeTruthy();
    const read = await api(`/api/v1/audit/logs/${res.json.records[0].id}`, { as: a.admin.as, headers: { "X-D1-Bookmark": bookmark! } });
    expect(read.status).toBe(200);
    expect(read.headers.get("X-D1-Bookmark")).toBeTruthy();
  });
});
