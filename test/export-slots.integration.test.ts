import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_CONCURRENT_EXPORTS } from "../src/audit/export/slots";
import { insertExport } from "../src/audit/export/store";
import { isoNow } from "../src/time";
import { api, chainRows, createTenant, db, type Tenant } from "./helpers";

/** An export row as a request would leave it, without a runner: it stays active until the test settles it. */
async function activeExport(t: Tenant, slot: number | null) {
  const id = crypto.randomUUID();
  const now = isoNow();
  await insertExport(db(), {
    id, organizationId: t.org.id, requestedBy: t.admin.user.id, format: "jsonl", filters: { organizationId: t.org.id, recordedUntil: now },
    status: "pending", r2Key: `exports/${t.org.id}/${id}.jsonl`, createdAt: now, updatedAt: now, slot,
  });
  return id;
}

const startExport = (t: Tenant) => api("/api/v1/audit/exports", { method: "POST", as: t.admin.as, body: { format: "jsonl" } });
const exportCount = async (orgId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM exports WHERE organization_id = ?").bind(orgId).first<{ n: number }>())!.n;

describe(`at most ${MAX_CONCURRENT_EXPORTS} uncapped exports per organization at once`, () => {
  it("one more while two are pending or running is a 429 too_many_exports that changes nothing; once one completes it is accepted", async () => {
    const t = await createTenant();
    const first = await activeExport(t, 1);
    await activeExport(t, 2);
    await env.DB.prepare("UPDATE exports SET status = 'running' WHERE id = ?").bind(first).run();

    const refused = await startExport(t);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("30");
    expect(refused.json.error).toEqual({
      code: "too_many_exports",
      message: "At most 2 exports may be pending or running per organization; retry when one has completed",
    });
    expect(await exportCount(t.org.id)).toBe(2);
    expect(await chainRows(t.org.id)).toEqual([]);

    await env.DB.prepare("UPDATE exports SET status = 'complete' WHERE id = ?").bind(first).run();
    const accepted = await startExport(t);
    expect(accepted.status).toBe(202);
    expect(await exportCount(t.org.id)).toBe(3);
    expect((await chainRows(t.org.id)).map((r) => r.action)).toEqual(["export"]);
  });

  it("counts an active export from before slots existed, and other organizations are not affected", async () => {
    const [t, neighbour] = await Promise.all([createTenant(), createTenant()]);
    await activeExport(t, null);
    await activeExport(t, 2);
    expect((await startExport(t)).status).toBe(429);
    expect((await startExport(neighbour)).status).toBe(202);
  });

  it("a burst of concurrent requests never exceeds the cap, and each refusal is a clean 429", async () => {
    const t = await createTenant();
    await activeExport(t, 1);
    // Enough rows that the accepted export runs for a second or so (an empty one completes in
    // milliseconds and frees its slot while the burst is still being answered).
    await env.DB.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
       INSERT INTO audit_logs (id, organization_id, actor_id, action, resource_type, status, metadata, timestamp, recorded_at)
       SELECT ?1 || '-' || i, ?1, 'legacy', 'update', 'device', 'success', '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM n`,
    )
      .bind(t.org.id)
      .run();
    const answers = await Promise.all(Array.from({ length: 5 }, () => startExport(t)));
    const accepted = answers.filter((a) => a.status === 202);
    const refused = answers.filter((a) => a.status !== 202);
    // The pre-existing export never completes, so exactly one slot was free during the burst.
    expect(accepted).toHaveLength(1);
    expect(refused.map((a) => [a.status, a.json.error.code, a.headers.get("Retry-After")])).toEqual(Array(4).fill([429, "too_many_exports", "30"]));
    expect(await exportCount(t.org.id)).toBe(2);
    expect((await chainRows(t.org.id)).map((r) => r.action)).toEqual(["export"]);
  });
});
