import { beforeAll, describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { api, appendBatch, appendRecord, chainRows, createTenant, getSuperAdmin, recordBody, unique, validate } from "./helpers";
import { postBackup, putService, serviceBody } from "./compliance-helpers";

// README.md, "The chain": resource_id is a UUID or the platform's own id (1–128 of A–Z a–z 0–9 . _ : -).
type Tenant = Awaited<ReturnType<typeof createTenant>>;
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(), createTenant()]);
});

const logs = (as: unknown, query: string) => api(`/api/v1/audit/logs?${query}`, { as: as as never });
const lookup = (as: unknown, type: string, id: string, query = "") =>
  api(`/api/v1/audit/logs/resource/${type}/${id}${query}`, { as: as as never });
const fieldsOf = (res: { json: { error: { details: { field: string }[] } } }) => res.json.error.details.map((d) => d.field);
const countAll = async (orgId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM audit_logs WHERE organization_id = ?").bind(orgId).first<{ n: number }>())!.n;

describe("resource_id takes the platform's own ids", () => {
  it("stores svc_0a1b, db:main.eu-1 and a 128-character id, and finds each by the filter and the resource lookup", async () => {
    const t = await createTenant();
    const single = await appendRecord(t.ingest.as, recordBody({ resource_type: "service", resource_id: "svc_0a1b" }));
    expect([single.status, single.json.resource_id]).toEqual([201, "svc_0a1b"]);
    const longest = "a".repeat(128);
    const batch = await appendBatch(t.ingest.as, [
      recordBody({ resource_type: "service", resource_id: "db:main.eu-1" }),
      recordBody({ resource_type: "device", resource_id: longest }),
    ]);
    expect([batch.status, batch.json.records.map((r: { resource_id: string }) => r.resource_id)]).toEqual([201, ["db:main.eu-1", longest]]);
    const sa = (await getSuperAdmin()).as;
    const legacyId = crypto.randomUUID();
    const imported = await api("/api/v1/audit/import", {
      method: "POST",
      as: sa,
      body: { organization_id: t.org.id, records: [{ ...recordBody({ resource_type: "service", resource_id: "svc_0a1b" }), id: legacyId, timestamp: "2019-01-01T00:00:00Z" }] },
    });
    expect(imported.status).toBe(201);

    const [dbRecord, longRecord] = batch.json.records;
    for (const [type, id, ids] of [
      ["service", "svc_0a1b", [single.json.id, legacyId]],
      ["service", "db:main.eu-1", [dbRecord.id]],
      ["device", longest, [longRecord.id]],
    ] as const) {
      const filtered = await logs(t.admin.as, `resource_id=${encodeURIComponent(id)}`);
      expect([filtered.status, filtered.json.items.map((r: { id: string }) => r.id)]).toEqual([200, ids]);
      const found = await lookup(t.admin.as, type, id);
      expect([found.status, found.json.total, found.json.items.map((r: { id: string }) => r.id)]).toEqual([200, ids.length, ids]);
    }
    // The same id under another resource type is another resource.
    expect((await lookup(t.admin.as, "device", "svc_0a1b")).status).toBe(404);
  });

  it("a 129-character id or a character outside the set is a 422 naming resource_id, and stores nothing", async () => {
    const t = await createTenant();
    const before = await countAll(t.org.id);
    for (const bad of ["a".repeat(129), "svc/1", "svc 1", "svc_é", ""]) {
      const one = await appendRecord(t.ingest.as, recordBody({ resource_id: bad }));
      expect([bad, one.status, fieldsOf(one)]).toEqual([bad, 422, ["resource_id"]]);
      const batch = await appendBatch(t.ingest.as, [recordBody(), recordBody({ resource_id: bad })]);
      expect([bad, batch.status, fieldsOf(batch)]).toEqual([bad, 422, ["records.1.resource_id"]]);
      const imported = await api("/api/v1/audit/import", {
        method: "POST",
        as: (await getSuperAdmin()).as,
        body: { organization_id: t.org.id, records: [{ ...recordBody({ resource_id: bad }), id: crypto.randomUUID(), timestamp: "2019-01-01T00:00:00Z" }] },
      });
      expect([bad, imported.status, fieldsOf(imported)]).toEqual([bad, 422, ["records.0.resource_id"]]);
      const filtered = await logs(t.admin.as, `resource_id=${encodeURIComponent(bad)}`);
      expect([bad, filtered.status, fieldsOf(filtered)]).toEqual([bad, 422, ["resource_id"]]);
    }
    expect(await countAll(t.org.id)).toBe(before);
    // In a path an encoded slash, space or é arrives decoded and is refused the same way.
    for (const bad of ["a".repeat(129), "svc%2F1", "svc%201", "svc_%C3%A9"]) {
      const found = await lookup(t.admin.as, "service", bad);
      expect([bad, found.status, fieldsOf(found)]).toEqual([bad, 422, ["resource_id"]]);
    }
  });
});

describe("chainproof's own records of a service carry its id", () => {
  it("a service's history lists its creation, update, backups and deletion, newest first", async () => {
    const serviceId = `svc_${crypto.randomUUID().slice(0, 8)}`;
    expect((await putService(a.ingest.as, a.org.id, serviceId)).status).toBe(201);
    expect((await putService(a.admin.as, a.org.id, serviceId, serviceBody({ version: "17.0" }))).status).toBe(200);
    const backup = await postBackup(a.ingest.as, a.org.id, serviceId);
    expect(backup.status).toBe(201);

    const history = await lookup(a.admin.as, "service", serviceId);
    expect(history.status).toBe(200);
    expect(history.json.items.map((r: Record<string, unknown>) => [r.action, r.resource_type, r.resource_id])).toEqual([
      ["backup", "service", serviceId],
      ["update", "service", serviceId],
      ["create", "service", serviceId],
    ]);
    expect(history.json.items[0].metadata).toEqual({ service_id: serviceId, backup_id: backup.json.id, source: "chainproof", role: "ingest", via: "bearer" });
    expect(history.json.items[1].changes).toEqual({ version: { old: "16.4", new: "17.0" } });
    const filtered = await logs(a.admin.as, `resource_id=${serviceId}&resource_type=service`);
    expect(filtered.json.items.map((r: { id: string }) => r.id)).toEqual(history.json.items.map((r: { id: string }) => r.id));

    expect((await api(`/api/v1/organizations/${a.org.id}/services/${serviceId}`, { method: "DELETE", as: a.admin.as })).status).toBe(204);
    const after = await lookup(a.admin.as, "service", serviceId);
    expect(after.json.items.map((r: { action: string }) => r.action)).toEqual(["delete", "backup", "update", "create"]);
    expect((await validate({ organization_id: a.org.id })).json.valid).toBe(true);
  });

  it("a service id may use every character a resource id may (db:main.eu-1), up to 128; beyond is a 422 naming serviceId", async () => {
    const serviceId = `db:${unique("main")}.eu-1`;
    expect((await putService(a.admin.as, a.org.id, serviceId)).status).toBe(201);
    const history = await lookup(a.admin.as, "service", serviceId);
    expect([history.status, history.json.items.map((r: { resource_id: string }) => r.resource_id)]).toEqual([200, [serviceId]]);
    const tooLong = await putService(a.admin.as, a.org.id, "s".repeat(129));
    expect([tooLong.status, fieldsOf(tooLong)]).toEqual([422, ["serviceId"]]);
    expect((await putService(a.admin.as, a.org.id, "s".repeat(128))).status).toBe(201);
  });

  it("another organization's service id is a 404, even when both use the same id", async () => {
    const serviceId = `svc_${crypto.randomUUID().slice(0, 8)}`;
    expect((await putService(a.admin.as, a.org.id, serviceId)).status).toBe(201);
    expect((await lookup(b.admin.as, "service", serviceId)).status).toBe(404);
    expect((await lookup(b.adminToken.as, "service", serviceId)).status).toBe(404);
    expect((await logs(b.admin.as, `resource_id=${serviceId}`)).json.total).toBe(0);
    expect((await lookup(b.admin.as, "service", serviceId, `?organization_id=${a.org.id}`)).status).toBe(404);

    expect((await putService(b.admin.as, b.org.id, serviceId, serviceBody({ name: "in-b" }))).status).toBe(201);
    const ofB = await lookup(b.admin.as, "service", serviceId);
    expect(ofB.json.items.map((r: Record<string, unknown>) => [r.organization_id, r.action])).toEqual([[b.org.id, "create"]]);
    expect(ofB.json.items[0].new_state.name).toBe("in-b");
    const rowsOfA = (await chainRows(a.org.id)).filter((r) => r.resource_id === serviceId);
    expect(rowsOfA.map((r) => r.action)).toEqual(["create"]);
  });
});
