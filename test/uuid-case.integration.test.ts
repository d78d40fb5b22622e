import { beforeAll, describe, expect, it } from "vitest";
import { api, appendRecord, createTenant, getSuperAdmin, recordBody, type Tenant } from "./helpers";

// UUIDs are read case-insensitively (RFC 9562) and kept in lowercase, as chainproof writes its own:
// a record appended with uppercase ids is found by either case, and its answer shows lowercase.

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

const upper = () => crypto.randomUUID().toUpperCase();

describe("UUIDs in any case", () => {
  it("an appended record keeps its UUIDs in lowercase; the platform's own ids keep their case", async () => {
    const [actor, site, resource] = [upper(), upper(), upper()];
    const res = await appendRecord(t.ingest.as, recordBody({ actor_id: actor, site_id: site, resource_id: resource }));
    expect(res.status).toBe(201);
    expect([res.json.actor_id, res.json.site_id, res.json.resource_id]).toEqual([actor.toLowerCase(), site.toLowerCase(), resource.toLowerCase()]);
    const own = await appendRecord(t.ingest.as, recordBody({ resource_id: "SVC_Mixed-1" }));
    expect(own.json.resource_id).toBe("SVC_Mixed-1");

    for (const query of [`actor_id=${actor}`, `actor_id=${actor.toLowerCase()}`, `site_id=${site}`, `resource_id=${resource}`, `resource_id=${resource.toLowerCase()}`]) {
      const list = await api(`/api/v1/audit/logs?${query}`, { as: t.admin.as });
      expect([query, list.status, list.json.total, list.json.items[0]?.id]).toEqual([query, 200, 1, res.json.id]);
    }
    const byId = await api(`/api/v1/audit/logs/${res.json.id.toUpperCase()}`, { as: t.admin.as });
    expect([byId.status, byId.json.id]).toEqual([200, res.json.id]);
    const history = await api(`/api/v1/audit/logs/user/${actor}`, { as: t.admin.as });
    expect([history.status, history.json.total]).toEqual([200, 1]);
  });

  it("a legacy import's ids are kept in lowercase too", async () => {
    const sa = (await getSuperAdmin()).as;
    const id = upper();
    const res = await api("/api/v1/audit/import", {
      method: "POST",
      as: sa,
      body: { organization_id: t.org.id.toUpperCase(), records: [{ ...recordBody(), id, timestamp: "2019-03-04T05:06:07Z" }] },
    });
    expect(res.status).toBe(201);
    expect(res.json.records[0].id).toBe(id.toLowerCase());
    expect((await api(`/api/v1/audit/logs/${id}`, { as: t.admin.as })).json.id).toBe(id.toLowerCase());
  });
});

describe("the compliance report's address is checked like every route's", () => {
  it("a malformed organization id is a 422 naming it; an unknown query parameter too", async () => {
    const bad = await api("/api/v1/organizations/notuuid/compliance-report", { as: t.member.as });
    expect([bad.status, bad.json.error.details]).toEqual([422, [{ field: "orgId", message: "Invalid UUID" }]]);
    const extra = await api(`/api/v1/organizations/${t.org.id}/compliance-report?x=1`, { as: t.member.as });
    expect([extra.status, extra.json.error.details]).toEqual([422, [{ field: "x", message: "Unknown field" }]]);
    const upperCase = await api(`/api/v1/organizations/${t.org.id.toUpperCase()}/compliance-report`, { as: t.member.as });
    expect([upperCase.status, upperCase.json.report.organization_id]).toEqual([200, t.org.id]);
  });
});
