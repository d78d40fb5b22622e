import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { SHORT_SEARCH_LIST } from "../src/audit/read/store";
import { api, appendBatch, createTenant, recordBody, sql, type Tenant } from "./helpers";

// The trigram index behind `search` (migrations/0015_search_by_org.sql) follows audit_logs through
// appends, edits of metadata and deletions by seq range (what a retention prune commits), each row
// under its organization's keys.

let t: Tenant;
let other: Tenant;
let records: { id: string; seq: number }[];
// Digits after the word: no two-letter search below can meet them by chance.
const word = `quince${Math.random().toString().slice(2, 10)}`;
const notes = [`${word} one`, `${word} two`, `${word} three`, "plain", `${word.toUpperCase()} four`];

beforeAll(async () => {
  t = await createTenant();
  records = (await appendBatch(t.ingest.as, notes.map((note) => recordBody({ metadata: { note } })))).json.records;
  // Another organization holds the same words: its rows are never a candidate of t's searches.
  other = await createTenant();
  await appendBatch(other.ingest.as, notes.map((note) => recordBody({ metadata: { note } })));
});

const search = async (text: string) => {
  const res = await api(`/api/v1/audit/logs?${new URLSearchParams({ search: text, per_page: "200" })}`, { as: t.admin.as });
  expect(res.status, res.text).toBe(200);
  expect(res.json.total).toBe(res.json.items.length);
  return res.json.items.map((r: { id: string }) => r.id).sort();
};
const ids = (...indexes: number[]) => indexes.map((i) => records[i]!.id).sort();

/**
 * The index holds one entry per row of audit_logs, keyed by its organization's rowid and its own
 * (rowid of the organization << 40 | rowid of the row), and FTS5 finds its structure sound (or throws).
 */
async function indexMatchesTable() {
  await env.DB.prepare("INSERT INTO audit_search(audit_search) VALUES ('integrity-check')").run();
  const keys = async (query: string) => (await env.DB.prepare(query).all<{ key: string }>()).results.map((r) => r.key).sort();
  const indexed = await keys("SELECT CAST(id AS TEXT) AS key FROM audit_search_docsize");
  expect(indexed.length).toBeGreaterThan(0);
  expect(indexed).toEqual(await keys("SELECT CAST((o.rowid << 40) | a.rowid AS TEXT) AS key FROM audit_logs a JOIN organizations o ON o.id = a.organization_id"));
}

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

  // What migration 0015 ends with, and what docs/operations.md has a restore end with: the index
  // refilled from the rows as they stand.
  it("is refilled from the rows by the migration's last statement", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0015_"))!;
    await env.DB.prepare("INSERT INTO audit_search(audit_search) VALUES ('delete-all')").run();
    expect(await search(word)).toEqual([]);
    await env.DB.prepare(migration.queries.at(-1)!).run();
    expect(await search(word)).toEqual(ids(4));
    expect(await search("plain again")).toEqual(ids(0));
    await indexMatchesTable();
  });
});

// A page of a short list reads the listed rows and sorts them, of a longer one the organization's
// index newest first; the total counts the listed rows (pageOfRecords): pages, cursors and totals
// agree with the records' order either way.
describe("search pages and totals", () => {
  const many = 1_200;
  const fruit = `medlar${Math.random().toString().slice(2, 10)}`;
  let u: Tenant;
  let newestFirst: { id: string; rare: boolean }[];

  beforeAll(async () => {
    u = await createTenant();
    const base = Date.parse("2026-06-01T00:00:00.000Z");
    // Timestamps repeat (every 300 records), so seq decides between equal ones.
    const bodies = Array.from({ length: many }, (_, i) =>
      recordBody({ timestamp: new Date(base + (i % 300) * 1000).toISOString(), metadata: { note: `${fruit} ${i % 10 === 0 ? "rare" : "common"}` } }),
    );
    const appended: { id: string; seq: number; timestamp: string; rare: boolean }[] = [];
    for (let i = 0; i < many; i += 1000) {
      const res = await appendBatch(u.ingest.as, bodies.slice(i, i + 1000));
      expect(res.status, res.text).toBe(201);
      res.json.records.forEach((r: { id: string; seq: number; timestamp: string }, j: number) => appended.push({ ...r, rare: (i + j) % 10 === 0 }));
    }
    newestFirst = appended.sort((a, b) => b.timestamp.localeCompare(a.timestamp) || b.seq - a.seq);
  }, 60_000);

  /** Every page by cursor, checking each page's total; the ids in the order served. */
  async function walk(text: string, expectedTotal: number) {
    const served: string[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string> = { search: text, per_page: "200", ...(cursor ? { cursor } : {}) };
      const res = await api(`/api/v1/audit/logs?${new URLSearchParams(query)}`, { as: u.admin.as });
      expect(res.status, res.text).toBe(200);
      expect(res.json.total).toBe(expectedTotal);
      served.push(...res.json.items.map((r: { id: string }) => r.id));
      cursor = res.json.next_cursor;
    } while (cursor);
    return served;
  }

  it(`more than ${SHORT_SEARCH_LIST} matches, walked by cursor`, async () => {
    expect(await walk(fruit, many)).toEqual(newestFirst.map((r) => r.id));
  });

  it(`at most ${SHORT_SEARCH_LIST} matches, by cursor and by page`, async () => {
    const rare = newestFirst.filter((r) => r.rare);
    expect(rare.length).toBeLessThanOrEqual(SHORT_SEARCH_LIST);
    expect(await walk(`${fruit} rare`, rare.length)).toEqual(rare.map((r) => r.id));
    // Offset paging of the same: page 2 of 50 is the 51st to 100th.
    const res = await api(`/api/v1/audit/logs?${new URLSearchParams({ search: `${fruit} rare`, per_page: "50", page: "2" })}`, { as: u.admin.as });
    expect(res.json.items.map((r: { id: string }) => r.id)).toEqual(rare.slice(50, 100).map((r) => r.id));
  });
});

