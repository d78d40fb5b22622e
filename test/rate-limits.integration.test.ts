import { describe, expect, it } from "vitest";
import { api, appendBatch, chainRows, createTenant, getSuperAdmin, recordBody } from "./helpers";

// The budgets of wrangler.toml's [[ratelimits]], each per 60 s.
const EXPORTS = 30;
const VALIDATIONS = 30;
const REPORTS = 30;
const SUMMARIES = 120;

/**
 * The platform counts per wall-clock window of 60 s: a burst that straddles two windows is
 * counted against two budgets. Then it runs again (each run makes its own organizations) until
 * one run fits in one window.
 */
async function withinOneWindow<T>(burst: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const window = Math.floor(Date.now() / 60_000);
    const result = await burst();
    if (Math.floor(Date.now() / 60_000) === window) return result;
  }
  throw new Error("no burst fitted in one rate-limit window");
}

/** `n` requests, ten at a time; their statuses in order. */
async function statuses(n: number, request: (i: number) => Promise<{ status: number }>) {
  const out: number[] = [];
  for (let i = 0; i < n; i += 10) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => request(i + j)))).map((r) => r.status));
  }
  return out;
}

function expectRateLimited(res: { status: number; headers: Headers; json: any }, what: string) {
  expect(res.status).toBe(429);
  expect(res.headers.get("Retry-After")).toBe("60");
  expect(res.json.error).toEqual({ code: "rate_limited", message: `Too many ${what} for this organization; retry in 60 seconds` });
}

const actions = async (orgId: string) => (await chainRows(orgId)).map((r) => r.action);

// A test may wait up to 45 s for a fresh window.
describe("per-organization budgets on the expensive routes", { timeout: 60_000 }, () => {
  it(`summaries: ${SUMMARIES} a minute, activity and security together`, async () => {
    const paths = ["/api/v1/audit/summary/activity", "/api/v1/audit/summary/security"];
    const run = await withinOneWindow(async () => {
      const [t, neighbour] = await Promise.all([createTenant(), createTenant()]);
      const spent = await statuses(SUMMARIES, (i) => api(paths[i % 2]!, { as: t.admin.as }));
      const over = await Promise.all(paths.map((path) => api(path, { as: t.adminToken.as })));
      return { spent, over, neighbour: await api(paths[0]!, { as: neighbour.admin.as }) };
    });
    expect(run.spent).toEqual(Array(SUMMARIES).fill(200));
    for (const res of run.over) expectRateLimited(res, "summaries");
    expect(run.neighbour.status).toBe(200);
  });

  it(`exports: ${EXPORTS} a minute, capped and uncapped together; a neighbour keeps its own`, async () => {
    const run = await withinOneWindow(async () => {
      const [t, neighbour] = await Promise.all([createTenant(), createTenant()]);
      const capped = (as = t.admin.as) => api("/api/v1/audit/export", { method: "POST", as, body: {} });
      const spent = await statuses(EXPORTS - 1, () => capped());
      const uncapped = await api("/api/v1/audit/exports", { method: "POST", as: t.adminToken.as, body: {} });
      const over = [await capped(), await api("/api/v1/audit/exports", { method: "POST", as: t.admin.as, body: {} })];
      return { t, spent, uncapped, over, neighbour: await capped(neighbour.admin.as) };
    });
    expect(run.spent).toEqual(Array(EXPORTS - 1).fill(200));
    expect(run.uncapped.status).toBe(202);
    for (const res of run.over) expectRateLimited(res, "exports");
    expect((await actions(run.t.org.id)).filter((a) => a === "export")).toHaveLength(EXPORTS);
    expect(run.neighbour.status).toBe(200);
  });

  it(`validation: ${VALIDATIONS} a minute per organization`, async () => {
    const sa = (await getSuperAdmin()).as;
    const validate = (orgId: string) => api(`/api/v1/audit/validate?organization_id=${orgId}`, { as: sa });
    const run = await withinOneWindow(async () => {
      const [t, neighbour] = await Promise.all([createTenant(), createTenant()]);
      expect((await appendBatch(t.ingest.as, [recordBody()])).status).toBe(201);
      const spent = await statuses(VALIDATIONS, () => validate(t.org.id));
      return { t, spent, over: await validate(t.org.id), neighbour: await validate(neighbour.org.id) };
    });
    expect(run.spent).toEqual(Array(VALIDATIONS).fill(200));
    expectRateLimited(run.over, "chain validations");
    expect((await actions(run.t.org.id)).filter((a) => a === "chain_validate")).toHaveLength(VALIDATIONS);
    expect(run.neighbour.status).toBe(200);
  });

  it(`compliance reports: ${REPORTS} a minute, on both addresses; another tenant's refused requests spend none of it`, async () => {
    const run = await withinOneWindow(async () => {
      const [t, other] = await Promise.all([createTenant(), createTenant()]);
      const report = (as = t.member.as) => api(`/api/v1/organizations/${t.org.id}/compliance-report`, { as });
      const foreign = await statuses(5, () => report(other.admin.as));
      const spent = await statuses(REPORTS, () => report());
      const over = [await report(), await api(`/organizations/${t.org.id}/compliance-report`, { as: t.admin.as })];
      return { t, foreign, spent, over, other: await api(`/api/v1/organizations/${other.org.id}/compliance-report`, { as: other.member.as }) };
    });
    expect(run.foreign).toEqual(Array(5).fill(404));
    expect(run.spent).toEqual(Array(REPORTS).fill(200));
    for (const res of run.over) expectRateLimited(res, "compliance reports");
    expect((await actions(run.t.org.id)).filter((a) => a === "report_generate")).toHaveLength(REPORTS);
    expect(run.other.status).toBe(200);
  });
});
