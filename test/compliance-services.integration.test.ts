import { beforeAll, describe, expect, it } from "vitest";
import { api, chainRows, createTenant, getSuperAdmin, type Tenant } from "./helpers";
import { postBackup, putService, serviceBody } from "./compliance-helpers";

let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  [a, b] = await Promise.all([createTenant(), createTenant()]);
});

const servicePath = (orgId: string, id = "") => `/api/v1/organizations/${orgId}/services${id ? `/${id}` : ""}`;
const serviceRecords = async (orgId: string, serviceId: string) =>
  (await chainRows(orgId)).filter((r) => r.resource_type === "service" && JSON.parse(r.metadata).service_id === serviceId);

describe("services inventory", () => {
  it("PUT creates (201) then replaces (200); GET, list and DELETE; every change is audited in the chain", async () => {
    const created = await putService(a.admin.as, a.org.id, "svc_orders");
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      id: "svc_orders",
      organization_id: a.org.id,
      name: "orders-db",
      database_type: "postgresql",
      zones: ["de-fra1", "nl-ams1"],
      region: "europe",
      eu_residency: true,
      storage_region: "de-fra1",
      backup_policy: { schedule_enabled: true, schedule_cron: "0 3 * * *", retention_days: 30 },
    });
    expect(created.json.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const replaced = await putService(a.admin.as, a.org.id, "svc_orders", serviceBody({ version: "17.0", zones: ["de-fra1", "gb-lon1"] }));
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ version: "17.0", region: "europe", eu_residency: false, created_at: created.json.created_at });

    const before = (await chainRows(a.org.id)).length;
    const unchanged = await putService(a.admin.as, a.org.id, "svc_orders", serviceBody({ version: "17.0", zones: ["de-fra1", "gb-lon1"] }));
    expect(unchanged.status).toBe(200);
    expect((await chainRows(a.org.id)).length).toBe(before);

    expect((await api(servicePath(a.org.id, "svc_orders"), { as: a.admin.as })).json).toEqual(replaced.json);
    const list = await api(servicePath(a.org.id), { as: a.admin.as });
    expect(list.status).toBe(200);
    expect(list.json.items.map((s: { id: string }) => s.id)).toContain("svc_orders");

    expect((await api(servicePath(a.org.id, "svc_orders"), { method: "DELETE", as: a.admin.as })).status).toBe(204);
    expect((await api(servicePath(a.org.id, "svc_orders"), { as: a.admin.as })).status).toBe(404);
    expect((await api(servicePath(a.org.id, "svc_orders"), { method: "DELETE", as: a.admin.as })).status).toBe(404);

    const records = await serviceRecords(a.org.id, "svc_orders");
    expect(records.map((r) => r.action)).toEqual(["create", "update", "delete"]);
    expect(records.map((r) => [r.actor_id, r.resource_id])).toEqual(Array(3).fill([a.admin.user.id, "svc_orders"]));
    const update = records[1]!;
    expect(JSON.parse(update.changes)).toEqual({
      version: { old: "16.4", new: "17.0" },
      zones: { old: ["de-fra1", "nl-ams1"], new: ["de-fra1", "gb-lon1"] },
      eu_residency: { old: true, new: false },
    });
    expect(JSON.parse(records[2]!.previous_state)).toMatchObject({ version: "17.0", zones: ["de-fra1", "gb-lon1"] });
  });

  it("a concurrent create lands once: the change and its audit record commit together or not at all", async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => putService(a.adminToken.as, a.org.id, "svc_race", serviceBody({ name: `race-${i}` }))),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => ![200, 201, 409].includes(r.status))).toEqual([]);
    const records = await serviceRecords(a.org.id, "svc_race");
    expect(records.filter((r) => r.action === "create")).toHaveLength(1);
    // Every update that was audited is one that landed: the final name is the last audited one.
    const final = (await api(servicePath(a.org.id, "svc_race"), { as: a.admin.as })).json;
    expect(JSON.parse(records.at(-1)!.new_state).name).toBe(final.name);
    expect(records).toHaveLength(1 + results.filter((r) => r.status === 200).length);
  });

  it("records completed backups (ingest may), normalized to UTC ms and audited as a backup of the service", async () => {
    expect((await putService(a.ingest.as, a.org.id, "svc_backed")).status).toBe(201);
    const res = await postBackup(a.ingest.as, a.org.id, "svc_backed", { completed_at: "2026-02-01T04:30:00+01:00", type: "incremental" });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      service_id: "svc_backed",
      organization_id: a.org.id,
      completed_at: "2026-02-01T03:30:00.000Z",
      type: "incremental",
      encryption_enabled: true,
      encryption_algorithm: "AES-256-GCM",
    });
    // Recorded about the service, so that the service's history includes its backups.
    const record = (await chainRows(a.org.id)).find((r) => r.action === "backup" && JSON.parse(r.metadata).backup_id === res.json.id)!;
    expect(record).toMatchObject({ resource_type: "service", resource_id: "svc_backed", actor_id: a.ingest.row.id });
    expect(JSON.parse(record.metadata).service_id).toBe("svc_backed");
    expect((await postBackup(a.ingest.as, a.org.id, "svc_missing")).status).toBe(404);
  });

  it("roles: org_admin and ingest write, only org_admin and super_admin read or delete, members nothing", async () => {
    const sa = (await getSuperAdmin()).as;
    expect((await putService(a.member.as, a.org.id, "svc_roles")).status).toBe(403);
    expect((await putService(a.ingest.as, a.org.id, "svc_roles")).status).toBe(201);
    expect((await putService(sa, a.org.id, "svc_roles", serviceBody({ version: "2" }))).status).toBe(200);
    for (const path of [servicePath(a.org.id), servicePath(a.org.id, "svc_roles")]) {
      expect((await api(path, { as: a.ingest.as })).status).toBe(403);
      expect((await api(path, { as: a.member.as })).status).toBe(403);
      expect((await api(path, { as: sa })).status).toBe(200);
      expect((await api(path, { as: a.adminToken.as })).status).toBe(200);
    }
    expect((await postBackup(a.member.as, a.org.id, "svc_roles")).status).toBe(403);
    expect((await api(servicePath(a.org.id, "svc_roles"), { method: "DELETE", as: a.ingest.as })).status).toBe(403);
    expect((await api(servicePath(a.org.id, "svc_roles"), { method: "DELETE", as: a.member.as })).status).toBe(403);
    expect((await api(servicePath(a.org.id, "svc_roles"), { method: "DELETE", as: sa })).status).toBe(204);
    expect((await api(servicePath(a.org.id))).status).toBe(401);
  });

  it("another organization's ids are 404 for every operation, and nothing leaks into its lists", async () => {
    expect((await putService(a.admin.as, a.org.id, "svc_private", serviceBody({ name: "a-secret-name" }))).status).toBe(201);
    const before = (await chainRows(a.org.id)).length;
    for (const as of [b.admin.as, b.ingest.as, b.member.as, b.adminToken.as]) {
      expect((await putService(as, a.org.id, "svc_private", serviceBody({ name: "hijack" }))).status).toBe(404);
      expect((await api(servicePath(a.org.id), { as })).status).toBe(404);
      expect((await api(servicePath(a.org.id, "svc_private"), { as })).status).toBe(404);
      expect((await api(servicePath(a.org.id, "svc_private"), { method: "DELETE", as })).status).toBe(404);
      expect((await postBackup(as, a.org.id, "svc_private")).status).toBe(404);
    }
    // The same service id under b's own path is b's namespace: not found there.
    expect((await api(servicePath(b.org.id, "svc_private"), { as: b.admin.as })).status).toBe(404);
    const list = await api(servicePath(b.org.id), { as: b.admin.as });
    expect(list.text).not.toContain("a-secret-name");
    expect((await chainRows(a.org.id)).length).toBe(before);
    expect((await api(servicePath(a.org.id, "svc_private"), { as: a.admin.as })).json.name).toBe("a-secret-name");
  });

  it("the same service id in two organizations are two services", async () => {
    expect((await putService(a.admin.as, a.org.id, "svc_shared", serviceBody({ name: "in-a" }))).status).toBe(201);
    expect((await putService(b.admin.as, b.org.id, "svc_shared", serviceBody({ name: "in-b" }))).status).toBe(201);
    expect((await api(servicePath(a.org.id, "svc_shared"), { as: a.admin.as })).json.name).toBe("in-a");
    expect((await api(servicePath(b.org.id, "svc_shared"), { as: b.admin.as })).json.name).toBe("in-b");
  });
});

describe("validation → 422 naming each field, nothing stored", () => {
  it.each([
    ["an unknown zone", { zones: ["de-fra1", "xx-nowhere1"] }, ["zones.1"]],
    ["an unknown storage region", { storage_region: "eu-central" }, ["storage_region"]],
    ["no zones", { zones: [] }, ["zones"]],
    ["a duplicate zone", { zones: ["de-fra1", "de-fra1"] }, ["zones.1"]],
    ["database_type over 32 characters", { database_type: "x".repeat(33) }, ["database_type"]],
    ["an unknown status", { status: "sleeping" }, ["status"]],
    ["non-boolean flags", { tls_enabled: "yes", storage_encrypted: 1 }, ["storage_encrypted", "tls_enabled"]],
    ["a bad backup policy", { backup_policy: { schedule_enabled: true, schedule_cron: "daily", retention_days: -1 } }, ["backup_policy.retention_days", "backup_policy.schedule_cron"]],
    ["an unknown field", { owner: "me" }, ["owner"]],
  ])("%s", async (_label, overrides, fields) => {
    const res = await putService(a.admin.as, a.org.id, "svc_invalid", serviceBody(overrides));
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual(fields);
    expect((await api(servicePath(a.org.id, "svc_invalid"), { as: a.admin.as })).status).toBe(404);
  });

  it("a missing member and a bad service id", async () => {
    const { zones: _zones, ...withoutZones } = serviceBody();
    const missing = await putService(a.admin.as, a.org.id, "svc_invalid", withoutZones);
    expect(missing.json.error.details.map((d: { field: string }) => d.field)).toEqual(["zones"]);
    const badId = await putService(a.admin.as, a.org.id, "svc.bad!id");
    expect(badId.status).toBe(422);
    expect(badId.json.error.details[0].field).toBe("serviceId");
    expect((await putService(a.admin.as, a.org.id, "x".repeat(129))).status).toBe(422);
  });

  it("backups: a future completion, an algorithm without encryption, a long type", async () => {
    expect((await putService(a.admin.as, a.org.id, "svc_bk_invalid")).status).toBe(201);
    const future = await postBackup(a.admin.as, a.org.id, "svc_bk_invalid", { completed_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(future.status).toBe(422);
    expect(future.json.error.details[0].field).toBe("completed_at");
    const algo = await postBackup(a.admin.as, a.org.id, "svc_bk_invalid", { encryption_enabled: false });
    expect(algo.json.error.details).toEqual([{ field: "encryption_algorithm", message: "must be null when encryption_enabled is false" }]);
    const long = await postBackup(a.admin.as, a.org.id, "svc_bk_invalid", { type: "t".repeat(33), completed_at: "yesterday" });
    expect(long.json.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["completed_at", "type"]);
  });
});

describe("zone catalog", () => {
  it("every role may read it; Europe is not the EU", async () => {
    const res = await api("/api/v1/zones", { as: a.ingest.as });
    expect(res.status).toBe(200);
    const zones: { code: string; country: string; region: string; eu: boolean }[] = res.json.items;
    expect(zones.length).toBeGreaterThanOrEqual(20);
    expect(new Set(zones.map((z) => z.region))).toEqual(new Set(["europe", "north-america", "asia-pacific"]));
    for (const z of zones) {
      expect(z.code).toMatch(/^[a-z]{2}-[a-z]+\d+$/);
      expect(z.code.slice(0, 2)).toBe(z.country.toLowerCase());
    }
    const byCode = new Map(zones.map((z) => [z.code, z]));
    expect(byCode.get("de-fra1")).toMatchObject({ country: "DE", region: "europe", eu: true });
    for (const code of ["gb-lon1", "ch-zrh1", "no-osl1"]) expect(byCode.get(code)).toMatchObject({ region: "europe", eu: false });
    expect(byCode.get("us-nyc1")).toMatchObject({ region: "north-america", eu: false });
    expect((await api("/api/v1/zones", { as: a.member.as })).status).toBe(200);
    expect((await api("/api/v1/zones")).status).toBe(401);
  });

  it.each([
    [["de-fra1", "nl-ams1", "fr-par1"], "de-fra1", "europe", true],
    [["de-fra1", "gb-lon1"], "de-fra1", "europe", false],
    [["ch-zrh1"], "ch-zrh1", "europe", false],
    [["de-fra1"], "no-osl1", "europe", false],
    [["de-fra1", "us-nyc1"], "de-fra1", "multi-region", false],
    [["sg-sin1", "jp-tyo1"], "sg-sin1", "asia-pacific", false],
  ])("zones %j with storage in %s → region %s, eu_residency %s", async (zones, storage, region, eu) => {
    const res = await putService(a.admin.as, a.org.id, `svc_res_${zones.join("_")}_${storage}`, serviceBody({ zones, storage_region: storage }));
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ region, eu_residency: eu });
  });
});
