import { describe, expect, it } from "vitest";
import { api, chainRows, createTenant, getSuperAdmin, recordBody, validate } from "./helpers";
import { env } from "cloudflare:workers";

const legacy = (overrides: Record<string, unknown> = {}) => ({ ...recordBody(), id: crypto.randomUUID(), timestamp: "2019-03-04T05:06:07+01:00", ...overrides });
const importAs = async (as: any, body: unknown) => api("/api/v1/audit/import", { method: "POST", as, body });

describe("legacy import", () => {
  it("stores records unchained with their ids and times, and chains the import itself", async () => {
    const t = await createTenant();
    const sa = (await getSuperAdmin()).as;
    const records = [legacy(), legacy({ action: "login" })];
    const res = await importAs(sa, { organization_id: t.org.id, records });
    expect(res.status).toBe(201);
    expect(res.json.records.map((r: any) => [r.id, r.seq, r.prev_hash, r.row_hmac, r.key_id, r.timestamp])).toEqual(
      records.map((r) => [r.id, null, null, null, null, "2019-03-04T04:06:07.000Z"]),
    );
    expect(res.json.import_record).toMatchObject({ action: "import", seq: 1, resource_type: "audit_log", metadata: { legacy_records: 2 } });
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE organization_id = ? AND seq IS NULL").bind(t.org.id).first<{ n: number }>();
    expect(stored!.n).toBe(2);
    expect((await chainRows(t.org.id)).map((r) => r.action)).toEqual(["import"]);
    expect((await validate({ organization_id: t.org.id })).json).toMatchObject({ valid: true, checked: 1, unchained: 2 });
    const one = await api(`/api/v1/audit/logs/${records[0]!.id}`, { as: t.admin.as });
    expect(one.json).toMatchObject({ id: records[0]!.id, seq: null, row_hmac: null });
  });

  it("a legacy row as start_id or end_id of a walk is a 422 naming it: it exists, but has no place in the chain", async () => {
    const t = await createTenant();
    const sa = (await getSuperAdmin()).as;
    const records = [legacy()];
    expect((await importAs(sa, { organization_id: t.org.id, records })).status).toBe(201);
    const [chained] = await chainRows(t.org.id);
    const message = "is an unchained (legacy) record: it has no seq, so the chain walk cannot start or end there";
    for (const [field, range] of [
      ["start_id", { start_id: records[0]!.id }],
      ["end_id", { end_id: records[0]!.id }],
      ["end_id", { start_id: chained!.id, end_id: records[0]!.id }],
    ] as const) {
      const res = await validate({ organization_id: t.org.id, ...range });
      expect([field, res.status, res.json.error?.details]).toEqual([field, 422, [{ field, message }]]);
    }
    // An id the organization does not hold is still not found.
    expect((await validate({ organization_id: t.org.id, start_id: crypto.randomUUID() })).status).toBe(404);
  });

  it("all or nothing: a duplicate id, a chain field or a bad record stores none", async () => {
    const t = await createTenant();
    const sa = (await getSuperAdmin()).as;
    const dup = crypto.randomUUID();
    const twice = await importAs(sa, { organization_id: t.org.id, records: [legacy({ id: dup }), legacy({ id: dup })] });
    expect(twice.status).toBe(422);
    expect(twice.json.error.details[0].field).toBe("records.1.id");
    const sealed = await importAs(sa, { organization_id: t.org.id, records: [legacy({ seq: 4, row_hmac: "ab" })] });
    expect(sealed.json.error.details.map((d: any) => d.field).sort()).toEqual(["records.0.row_hmac", "records.0.seq"]);
    // One 422 names the schema's fields and the rest together: the reserved source, I-JSON, a repeated id.
    const mixed = await importAs(sa, {
      organization_id: t.org.id,
      records: [legacy({ id: dup, action: "zz" }), legacy({ metadata: { source: "chainproof", n: 2 ** 53 } }), legacy({ id: dup })],
    });
    expect(mixed.status).toBe(422);
    expect(mixed.json.error.details.map((d: any) => d.field).sort()).toEqual(["records.0.action", "records.1.metadata.n", "records.1.metadata.source", "records.2.id"]);
    const first = await importAs(sa, { organization_id: t.org.id, records: [legacy({ id: dup })] });
    expect(first.status).toBe(201);
    const again = await importAs(sa, { organization_id: t.org.id, records: [legacy(), legacy({ id: dup })] });
    expect(again.status).toBe(409);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE organization_id = ?").bind(t.org.id).first<{ n: number }>();
    expect(n!.n).toBe(2);
  });

  it("super_admin only; an unknown organization is a 404", async () => {
    const t = await createTenant();
    for (const as of [t.admin.as, t.adminToken.as, t.ingest.as, t.member.as]) {
      expect((await importAs(as, { organization_id: t.org.id, records: [legacy()] })).status).toBe(403);
    }
    expect((await importAs((await getSuperAdmin()).as, { organization_id: crypto.randomUUID(), records: [legacy()] })).status).toBe(404);
  });
});
