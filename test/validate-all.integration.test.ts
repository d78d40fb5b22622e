import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, MAX_ORGS_PER_CALL } from "../src/audit/integrity/validate-orgs";
import { toBase64Url, utf8 } from "../src/crypto/encoding";
import { insertOrganization } from "../src/orgs/store";
import { isoNow } from "../src/time";
import { appendBatch, chainRows, createTenant, db, recordBody, validate } from "./helpers";

/**
 * `n` organization ids at the very top of the id space, ascending, in a block of their own: a walk
 * that starts at the first meets no other test's organizations before the block ends (every other
 * test uses random ids, which virtually never start with ffffffff-ffff).
 */
function topIds(block: string, n: number) {
  const run = crypto.randomUUID().slice(0, 6);
  return Array.from({ length: n }, (_, i) => `ffffffff-ffff-4fff-bfff-${block}${run}${i.toString(16).padStart(4, "0")}`);
}

type OrgSummary = { organization_id: string; checked: number; complete: boolean; first_seq: number | null; next_start_id: string | null };
const walked = (answer: { organizations: OrgSummary[] }) =>
  answer.organizations.map((o) => [o.organization_id, o.checked, o.first_seq, o.complete, o.next_start_id]);

describe("GET /api/v1/audit/validate without organization_id", () => {
  it("spends one row budget across organizations in id order, continues by cursor, and finds a break on the last page", async () => {
    // The topmost block: nothing sorts after it, so the last call ends with next_cursor null.
    const ids = topIds("ff", 3);
    for (const id of ids) {
      const tenant = await createTenant("PROFESSIONAL", id);
      expect((await appendBatch(tenant.ingest.as, Array.from({ length: 30 }, (_, i) => recordBody({ metadata: { i } })))).status).toBe(201);
    }
    const rows = await Promise.all(ids.map(chainRows));
    const start = encodeCursor({ organizationId: ids[0]!, startId: null });

    const first = await validate({ cursor: start, limit: 50 });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ valid: true, broken_at: null, broken_reason: null, checked: 50, unchained: 0, organization_id: null });
    expect(walked(first.json)).toEqual([
      [ids[0], 30, 1, true, null],
      [ids[1], 20, 1, false, rows[1]![20]!.id],
    ]);
    expect(decodeCursor(first.json.next_cursor)).toEqual({ organizationId: ids[1], startId: rows[1]![20]!.id });

    // The second organization gained the first call's chain_validate record: it is walked too.
    const second = await validate({ cursor: first.json.next_cursor, limit: 50 });
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ valid: true, checked: 41, next_cursor: null });
    expect(walked(second.json)).toEqual([
      [ids[1], 11, 21, true, null],
      [ids[2], 30, 1, true, null],
    ]);
    expect(first.json.checked + second.json.checked).toBe(30 + 31 + 30);

    await env.DB.prepare("UPDATE audit_logs SET status = 'failure' WHERE id = ?").bind(rows[2]![24]!.id).run();
    const again = await validate({ cursor: start, limit: 50 });
    expect(again.json).toMatchObject({ valid: true, checked: 50 });
    expect(walked(again.json).map(([id, checked]) => [id, checked])).toEqual([
      [ids[0], 31],
      [ids[1], 19],
    ]);
    const last = await validate({ cursor: again.json.next_cursor, limit: 50 });
    expect(last.status).toBe(200);
    expect(last.json).toMatchObject({
      valid: false,
      broken_at: rows[2]![24]!.id,
      broken_reason: "row_hmac mismatch",
      organization_id: ids[2],
      next_cursor: null,
    });
    expect(last.json.organizations.map((o: OrgSummary & { valid: boolean }) => [o.organization_id, o.valid])).toEqual([
      [ids[1], true],
      [ids[2], false],
    ]);
  });

  it(`walks at most ${MAX_ORGS_PER_CALL} organizations per call, even empty ones`, async () => {
    const ids = topIds("fe", MAX_ORGS_PER_CALL + 1);
    for (const id of ids) await insertOrganization(db(), { id, name: `empty ${id}`, settings: {}, createdAt: isoNow() });
    const res = await validate({ cursor: encodeCursor({ organizationId: ids[0]!, startId: null }), limit: 10 });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ valid: true, checked: 0 });
    expect(res.json.organizations.map((o: OrgSummary) => o.organization_id)).toEqual(ids.slice(0, MAX_ORGS_PER_CALL));
    expect(decodeCursor(res.json.next_cursor)).toEqual({ organizationId: ids[MAX_ORGS_PER_CALL], startId: null });
  }, 30_000);

  it.each([
    ["not base64url", "not a cursor!"],
    ["not JSON", toBase64Url(utf8("hello"))],
    ["not an organization id", toBase64Url(utf8(JSON.stringify({ o: "x", s: null })))],
    ["extra members", toBase64Url(utf8(JSON.stringify({ o: crypto.randomUUID(), s: null, limit: 1 })))],
    ["too long", "a".repeat(513)],
  ])("a malformed cursor (%s) is a 422 naming cursor", async (_label, cursor) => {
    const res = await validate({ cursor });
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: { field: string }) => d.field)).toEqual(["cursor"]);
  });

  it("a cursor with organization_id is a 422 naming cursor: one organization pages with start_id", async () => {
    const tenant = await createTenant();
    const res = await validate({ organization_id: tenant.org.id, cursor: encodeCursor({ organizationId: tenant.org.id, startId: null }) });
    expect(res.status).toBe(422);
    expect(res.json.error.details).toEqual([{ field: "cursor", message: "only without organization_id; within one organization use start_id" }]);
    expect(await chainRows(tenant.org.id)).toEqual([]);
  });
});
