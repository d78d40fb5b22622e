import { parse } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { api, appendBatch, chainRows, createTenant, getSuperAdmin, recordBody, type Tenant } from "./helpers";

let big: Tenant;
let small: Tenant;
let other: Tenant;

const exportAs = (as: any, body: unknown, query = "") => api(`/api/v1/audit/export${query}`, { method: "POST", as, body });

beforeAll(async () => {
  [big, small, other] = await Promise.all([createTenant(), createTenant(), createTenant()]);
  // 10,001 login records (and a few others) in one organization.
  for (let i = 0; i < 10; i++) {
    const res = await appendBatch(big.ingest.as, Array.from({ length: 1000 }, (_, j) => recordBody({ action: "login", metadata: { n: i * 1000 + j } })));
    expect(res.status).toBe(201);
  }
  const rest = await appendBatch(big.ingest.as, [recordBody({ action: "login", metadata: { n: 10_000 } }), recordBody({ action: "logout" }), recordBody({ action: "logout" })]);
  expect(rest.status).toBe(201);
  const smalls = await appendBatch(small.ingest.as, [
    recordBody({ action: "create", user_agent: "=HYPERLINK(\"http://evil\")", metadata: { quote: 'say "hi", ok' }, timestamp: "2026-01-02T00:00:00Z" }),
    recordBody({ action: "update", user_agent: "+1-cmd", timestamp: "2026-01-03T00:00:00Z" }),
    recordBody({ action: "delete", user_agent: "@SUM(1)", timestamp: "2026-01-04T00:00:00Z", changes: null }),
  ]);
  expect(smalls.status).toBe(201);
  expect((await appendBatch(other.ingest.as, [recordBody()])).status).toBe(201);
}, 120_000);

describe("POST /api/v1/audit/export (capped)", () => {
  it("10,001 matching rows → the newest 10,000, truncated, in the exact envelope", async () => {
    const res = await exportAs(big.admin.as, { actions: ["login"] });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect(res.headers.get("X-Result-Truncated")).toBe("true");
    expect(res.headers.get("X-Result-Total")).toBe("10001");
    expect(res.headers.get("X-Result-Limit")).toBe("10000");
    expect(Object.keys(res.json)).toEqual(["truncated", "total", "limit", "returned", "items"]);
    expect(res.json).toMatchObject({ truncated: true, total: 10001, limit: 10000, returned: 10000 });
    expect(res.json.items).toHaveLength(10000);
    const seqs = res.json.items.map((r: { seq: number }) => r.seq);
    expect(new Set(seqs).size).toBe(10000);
    // Same timestamps within a batch: ties go newest seq first, so the oldest login is the one left out.
    expect(res.json.items.map((r: { action: string }) => r.action)).toEqual(Array(10000).fill("login"));
    expect(res.json.items.map((r: { metadata: { n: number } }) => r.metadata.n)).not.toContain(0);
  }, 60_000);

  it("under the cap: not truncated; filters by date, actions and resource types; other tenants excluded", async () => {
    const res = await exportAs(small.admin.as, { start_date: "2026-01-03", actions: ["update", "delete", "create"], resource_types: ["device"] });
    expect(res.json).toMatchObject({ truncated: false, total: 2, limit: 10000, returned: 2 });
    expect(res.json.items.map((r: { action: string }) => r.action)).toEqual(["delete", "update"]);
    expect(res.headers.get("X-Ignored-Fields")).toBeNull();
  });

  it("ignores unknown body fields and names them in X-Ignored-Fields", async () => {
    const res = await exportAs(small.admin.as, { actions: ["create"], organization_id: other.org.id, limit: 5, format: "json" });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Ignored-Fields")).toBe("organization_id, limit");
    // A file to keep, like the CSV: the dashboard's export form downloads it.
    expect(res.headers.get("Content-Disposition")).toMatch(/^attachment; filename="chainproof-audit-\d{4}-\d\d-\d\d\.json"$/);
    const odd = await exportAs(small.admin.as, { "line\nbreak": 1, "é": 2 });
    expect(odd.status).toBe(200);
    expect(odd.headers.get("X-Ignored-Fields")).toBe("line%0Abreak, %C3%A9");
    expect(res.json.items.map((r: { organization_id: string }) => r.organization_id)).toEqual([small.org.id]);
  });

  it("CSV: header row, RFC 4180 quoting, JSON columns as JSON text, formulas neutralized", async () => {
    const res = await exportAs(small.admin.as, { format: "csv", start_date: "2026-01-01", end_date: "2026-01-31" });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/csv");
    expect(res.headers.get("Content-Disposition")).toMatch(/^attachment; filename="chainproof-audit-\d{4}-\d\d-\d\d\.csv"$/);
    expect(res.headers.get("X-Result-Total")).toBe("3");
    expect(res.headers.get("X-Result-Truncated")).toBe("false");
    // RFC 4180: every record ends with CRLF.
    expect(res.text.endsWith("\r\n")).toBe(true);
    expect(res.text.split("\r\n")).toHaveLength(5);
    const rows: string[][] = parse(res.text);
    expect(rows[0]).toEqual([
      "id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status", "ip_address", "user_agent",
      "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id", "prev_hash", "row_hmac",
    ]);
    expect(rows).toHaveLength(4);
    const byAction = Object.fromEntries(rows.slice(1).map((r) => [r[5], r]));
    expect(byAction.create![10]).toBe("'=HYPERLINK(\"http://evil\")");
    expect(byAction.update![10]).toBe("'+1-cmd");
    expect(byAction.delete![10]).toBe("'@SUM(1)");
    expect(JSON.parse(byAction.create![14]!)).toEqual({ quote: 'say "hi", ok' });
    expect(byAction.delete![11]).toBe("");
    expect(res.text).toContain('"{""quote"":""say \\""hi\\"", ok""}"');
  });

  it("rejects bad values with 422 and other roles with 403; a super_admin may narrow by organization", async () => {
    expect((await exportAs(small.admin.as, { format: "xml" })).status).toBe(422);
    expect((await exportAs(small.admin.as, { actions: ["hack"] })).json.error.details[0].field).toBe("actions.0");
    expect((await exportAs(small.admin.as, { start_date: "2026-02-01", end_date: "2026-01-01" })).status).toBe(422);
    expect((await exportAs(small.member.as, {})).status).toBe(403);
    expect((await exportAs(small.ingest.as, {})).status).toBe(403);
    expect((await exportAs(small.admin.as, {}, `?organization_id=${other.org.id}`)).status).toBe(404);
    const sa = (await getSuperAdmin()).as;
    // Only the one record appended in beforeAll: nothing from the other organizations.
    const otherLog = await chainRows(other.org.id);
    expect(otherLog.map((r) => r.action)).toEqual(["update"]);
    const narrowed = await exportAs(sa, {}, `?organization_id=${other.org.id}`);
    expect(narrowed.status).toBe(200);
    expect(narrowed.json.items.map((r: { id: string; organization_id: string }) => [r.id, r.organization_id])).toEqual([[otherLog[0]!.id, other.org.id]]);
  });

  it("a platform-wide export is audited in each organization it covers with that organization's own figures only", async () => {
    const sa = (await getSuperAdmin()).as;
    const res = await exportAs(sa, { actions: ["login", "delete"] });
    expect([res.status, res.json.total, res.json.returned]).toEqual([200, 10_002, 10_000]);
    const lastExport = async (t: Tenant) => JSON.parse((await chainRows(t.org.id)).filter((r) => r.action === "export").at(-1)!.metadata);
    // The newest 10,000 are all the big organization's (the small one's delete is dated January).
    expect(await lastExport(big)).toMatchObject({ total: 10_001, returned: 10_000, capped: true, platform_wide: true });
    expect(await lastExport(small)).toMatchObject({ total: 1, returned: 0, capped: true, platform_wide: true });
  });

  it("every export is audited in the chain", async () => {
    const before = (await chainRows(other.org.id)).filter((r) => r.action === "export").length;
    await exportAs(other.admin.as, { actions: ["update"], junk: 1 });
    const after = (await chainRows(other.org.id)).filter((r) => r.action === "export");
    expect(after).toHaveLength(before + 1);
    expect(JSON.parse(after.at(-1)!.metadata)).toMatchObject({ format: "json", filters: { actions: ["update"] }, capped: true });
    expect(after.at(-1)!.metadata).not.toContain("junk");
  });
});
