import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_PAGE_DEPTH } from "../src/http/query";
import { api, createTenant, type Tenant } from "./helpers";

// More rows than the deepest page reaches, so the page past the depth limit exists: the refusal
// is the depth rule's, not "beyond the last page".
const ROWS = MAX_PAGE_DEPTH + 500;

let t: Tenant;
const actorId = crypto.randomUUID();
const resourceId = crypto.randomUUID();

/** ROWS records, security events and alerts for the tenant, written in three statements. */
async function seed(orgId: string) {
  const numbers = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})`;
  const at = "strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds')";
  await env.DB.batch([
    env.DB.prepare(
      `${numbers} INSERT INTO audit_logs (id, organization_id, actor_id, action, resource_type, resource_id, status, metadata, timestamp, recorded_at)
       SELECT ?1 || '-log-' || i, ?1, ?2, 'update', 'device', ?3, 'success', '{}', ${at}, ${at} FROM n`,
    ).bind(orgId, actorId, resourceId),
    env.DB.prepare(
      `${numbers} INSERT INTO security_events (id, organization_id, event_type, severity, risk_score, metadata, timestamp, alerted)
       SELECT ?1 || '-event-' || i, ?1, 'login_failed', 'info', 10, '{}', ${at}, 1 FROM n`,
    ).bind(orgId),
    env.DB.prepare(
      `${numbers} INSERT INTO alerts (id, organization_id, security_event_id, created_at, delivery_status)
       SELECT ?1 || '-alert-' || i, ?1, ?1 || '-event-' || i, ${at}, 'not_configured' FROM n`,
    ).bind(orgId),
  ]);
}

beforeAll(async () => {
  t = await createTenant();
  await seed(t.org.id);
}, 60_000);

const lists = [
  "/api/v1/audit/logs",
  `/api/v1/audit/logs/resource/device/${resourceId}`,
  `/api/v1/audit/logs/user/${actorId}`,
  "/api/v1/audit/security",
  "/api/v1/audit/security-events",
  "/api/v1/audit/alerts",
];

describe(`OFFSET-paged lists reach at most ${MAX_PAGE_DEPTH} rows deep`, () => {
  it.each(lists)("%s: the deepest page is served, one past it is a 422 naming page", async (path) => {
    const deepest = await api(`${path}?per_page=200&page=${MAX_PAGE_DEPTH / 200}`, { as: t.admin.as });
    expect(deepest.status).toBe(200);
    // The audit log counts up to the depth a page reaches (src/audit/read/store.ts, TOTAL_CAP).
    const counted = path.startsWith("/api/v1/audit/logs") ? { total: MAX_PAGE_DEPTH, total_exact: false, pages: MAX_PAGE_DEPTH / 200 } : { total: ROWS, pages: Math.ceil(ROWS / 200) };
    expect(deepest.json).toMatchObject({ ...counted, page: 50, per_page: 200 });
    expect(deepest.json.items).toHaveLength(200);

    const past = await api(`${path}?per_page=200&page=${MAX_PAGE_DEPTH / 200 + 1}`, { as: t.admin.as });
    expect(past.status).toBe(422);
    expect(past.json.error.details).toEqual([
      {
        field: "page",
        message: "page × per_page must not exceed 10000; narrow the filters (e.g. start_date and end_date) to reach older records",
      },
    ]);
  });

  it.each(lists.filter((path) => path.startsWith("/api/v1/audit/logs")))("%s: next_cursor reads on past the deepest page, to the last record", async (path) => {
    const deepest = await api(`${path}?per_page=200&page=${MAX_PAGE_DEPTH / 200}`, { as: t.admin.as });
    const next = await api(`${path}?per_page=200&cursor=${deepest.json.next_cursor}`, { as: t.admin.as });
    expect(next.status, next.text).toBe(200);
    expect(next.json).toMatchObject({ page: null, per_page: 200, total: MAX_PAGE_DEPTH, total_exact: false });
    // Seeded a second apart: row i is `-log-i`, newest first, so the page after row 501 starts at 500.
    expect(deepest.json.items.at(-1).id).toBe(`${t.org.id}-log-501`);
    expect(next.json.items.map((r: { id: string }) => r.id)).toEqual(Array.from({ length: 200 }, (_, k) => `${t.org.id}-log-${500 - k}`));
    const last = await api(`${path}?per_page=200&cursor=${next.json.next_cursor}`, { as: t.admin.as });
    expect(last.json.items.map((r: { id: string }) => r.id)).toEqual(Array.from({ length: 300 }, (_, k) => `${t.org.id}-log-${300 - k}`).slice(0, 200));
    expect(last.json.next_cursor).not.toBeNull();
    const end = await api(`${path}?per_page=200&cursor=${last.json.next_cursor}`, { as: t.admin.as });
    expect([end.json.items.length, end.json.next_cursor]).toEqual([100, null]);
  });

  it("counts page × per_page whatever the page size, and refuses a page in the millions before reading anything", async () => {
    expect((await api("/api/v1/audit/logs?per_page=50&page=200", { as: t.admin.as })).status).toBe(200);
    expect((await api("/api/v1/audit/logs?per_page=50&page=201", { as: t.admin.as })).status).toBe(422);
    expect((await api("/api/v1/audit/logs?page=10000", { as: t.admin.as })).json.error.details[0].field).toBe("page");
    expect((await api("/api/v1/audit/security?per_page=1&page=3000000", { as: t.admin.as })).json.error.details[0].field).toBe("page");
  });
});
