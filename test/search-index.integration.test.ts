import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, appendBatch, createTenant, recordBody, sql, type Tenant } from "./helpers";

// The trigram index behind `search` (migrations/0011_search_index.sql) follows audit_logs through
// appends, edits of metadata and deletions by seq range (what a retention prune commits).

let t: Tenant;
let records: { id: string; seq: number }[];
// Digits after the word: no two-letter search below can meet them by chance.
const word = `quince${Math.random().toString().slice(2, 10)}`;
const notes = [`${word} one`, `${word} two`, `${word} three`, "plain", `${word.toUpperCase()} four`];

beforeAll(async () => {
  t = await createTenant();
  records = (await appendBatch(t.ingest.as, notes.map((note) => recordBody({ metadata: { note } })))).json.records;
});

const search = async (text: string) => {
  const res = await api(`/api/v1/audit/logs?${new URLSearchParams({ search: text, per_page: "200" })}`, { as: t.admin.as });
  expect(res.status, res.text).toBe(200);
  return res.json.items.map((r: { id: string }) => r.id).sort();
};
const ids = (...indexes: number[]) => indexes.map((i) => records[i]!.id).sort();

/** FTS5's own check that the index holds exactly the trigrams of audit_logs' rows (it throws otherwise). */
const indexMatchesTable = () => env.DB.prepare("INSERT INTO audit_search(audit_search, rank) VALUES ('integrity-check', 1)").run();

describe("search through the trigram index", () => {
  it("finds appended rows by any substring of three characters or more, ASCII case folded; shorter text too", async () => {
    expect(await search(word)).toEqual(ids(0, 1, 2, 4));
    expect(await search(`${word} t`)).toEqual(ids(1, 2));
    expect(await search("ee")).toEqual(ids(2));
    expect(await search(word.slice(2, 5).toUpperCase())).toEqual(ids(0, 1, 2, 4));
    await indexMatchesTable();
  });

  it("follows an edit of a row's metadata", async () => {
    await sql("UPDATE audit_logs SET metadata = ? WHERE id = ?", JSON.stringify({ note: "plain again" }), records[0]!.id);
    expect(await search(word)).toEqual(ids(1, 2, 4));
    expect(await search("plain again")).toEqual(ids(0));
    await indexMatchesTable();
  });

  it("follows deletions by seq range, as a retention prune commits them", async () => {
    await sql("DELETE FROM audit_logs WHERE organization_id = ? AND seq >= ? AND seq <= ?", t.org.id, records[1]!.seq, records[2]!.seq);
    expect(await search(word)).toEqual(ids(4));
    expect(await search(`${word} t`)).toEqual([]);
    await indexMatchesTable();
  });
});
