import { beforeAll, describe, expect, it } from "vitest";
import { toBase64Url, utf8 } from "../src/crypto/encoding";
import { api, appendBatch, createTenant, recordBody, type Tenant } from "./helpers";

let t: Tenant;
let newestFirst: string[];
const actor = crypto.randomUUID();

// Eleven records, seven of them at one instant: only seq (then id) orders those.
beforeAll(async () => {
  t = await createTenant();
  const same = "2026-04-01T12:00:00.000Z";
  const bodies = Array.from({ length: 11 }, (_, i) =>
    recordBody({ timestamp: i < 7 ? same : `2026-04-0${2 + (i % 3)}T${String(i).padStart(2, "0")}:00:00Z`, actor_id: i % 2 === 0 ? actor : crypto.randomUUID() }),
  );
  const records: { id: string; seq: number; timestamp: string }[] = (await appendBatch(t.ingest.as, bodies)).json.records;
  newestFirst = [...records].sort((x, y) => (x.timestamp === y.timestamp ? y.seq - x.seq : x.timestamp < y.timestamp ? 1 : -1)).map((r) => r.id);
});

const list = (query: string) => api(`/api/v1/audit/logs?${query}`, { as: t.admin.as });

/** Every page from the first, following next_cursor until it is null. */
async function follow(query: string) {
  const pages = [];
  let res = await list(query);
  for (;;) {
    expect(res.status, res.text).toBe(200);
    pages.push(res.json);
    if (res.json.next_cursor === null) return pages;
    res = await list(`${query}&cursor=${res.json.next_cursor}`);
  }
}

describe("keyset paging with cursor", () => {
  it("next_cursor walks the list newest first, ties included, to a last page whose next_cursor is null", async () => {
    const pages = await follow("per_page=3");
    expect(pages.map((p) => p.items.length)).toEqual([3, 3, 3, 2]);
    expect(pages.flatMap((p) => p.items.map((r: { id: string }) => r.id))).toEqual(newestFirst);
    expect(pages[0]).toMatchObject({ total: 11, total_exact: true, page: 1, per_page: 3, pages: 4 });
    for (const later of pages.slice(1)) expect(later).toMatchObject({ total: 11, total_exact: true, page: null, per_page: 3, pages: 4 });
  });

  it("keeps the filters: a cursor continues within them", async () => {
    const pages = await follow(`per_page=2&actor_id=${actor}`);
    const mine = (await list(`per_page=200&actor_id=${actor}`)).json.items.map((r: { id: string }) => r.id);
    expect(mine).toHaveLength(6);
    expect(pages.flatMap((p) => p.items.map((r: { id: string }) => r.id))).toEqual(mine);
  });

  it("the page after a cursor equals the OFFSET page it follows", async () => {
    const first = await list("per_page=4");
    const byCursor = await list(`per_page=4&cursor=${first.json.next_cursor}`);
    const byPage = await list("per_page=4&page=2");
    expect(byCursor.json.items).toEqual(byPage.json.items);
  });

  it.each([
    ["garbage", "not-a-cursor!"],
    ["base64url of something else", toBase64Url(utf8('{"timestamp":"2026-01-01"}'))],
    ["a position with a malformed timestamp", toBase64Url(utf8('["yesterday",1,"x"]'))],
    ["a seq that is not a positive integer", toBase64Url(utf8('["2026-01-01T00:00:00.000Z",0.5,"x"]'))],
    ["too long", "A".repeat(401)],
  ])("%s → 422 naming cursor", async (_, cursor) => {
    const res = await list(`cursor=${encodeURIComponent(cursor)}`);
    expect([res.status, res.json.error.details.map((d: { field: string }) => d.field)]).toEqual([422, ["cursor"]]);
  });

  it("cursor and page together → 422 naming cursor", async () => {
    const first = await list("per_page=3");
    const res = await list(`per_page=3&page=2&cursor=${first.json.next_cursor}`);
    expect([res.status, res.json.error.details]).toEqual([422, [{ field: "cursor", message: "use either cursor or page, not both" }]]);
  });
});
