import { beforeAll, describe, expect, it } from "vitest";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "../src/audit/chain/enums";
import { api, appendBatch, createTenant, recordBody, type Tenant } from "./helpers";
import { eventBody, listEvents, postEvent } from "./security-helpers";

let t: Tenant;
let records: { id: string }[];
let events: { id: string }[];

// 128 characters (the documented maximum), in one byte of UTF-8 each and in two.
const ascii = Array.from({ length: 128 }, (_, i) => "Abcdefghij"[i % 10]).join("");
const umlaut = Array.from({ length: 128 }, (_, i) => (i % 2 === 0 ? "ü" : "x")).join("");
const notes = [ascii, umlaut, "100% done", "1000 done", "a_b", "axb"];

beforeAll(async () => {
  t = await createTenant();
  records = (await appendBatch(t.ingest.as, notes.map((note) => recordBody({ metadata: { note } })))).json.records;
  events = [];
  for (const note of notes) events.push((await postEvent(t.ingest.as, eventBody({ description: note, metadata: { note } }))).json);
});

const searchLogs = async (search: string) => {
  const res = await api(`/api/v1/audit/logs?${new URLSearchParams({ search })}`, { as: t.admin.as });
  expect(res.status).toBe(200);
  return res.json.items.map((r: { id: string }) => r.id).sort();
};
const searchEvents = async (search: string) => {
  const res = await listEvents(t.admin.as, { search });
  expect(res.status).toBe(200);
  return res.json.items.map((e: { id: string }) => e.id).sort();
};
const ids = (list: { id: string }[], ...indexes: number[]) => indexes.map((i) => list[i]!.id).sort();

describe("search of any length up to 128 characters", () => {
  for (const length of [49, 50, 51, 128]) {
    it(`${length} characters, ASCII in any case and multi-byte, find their row`, async () => {
      for (const [i, text] of [ascii, umlaut].entries()) {
        const needle = text.slice(128 - length);
        expect(await searchLogs(needle)).toEqual(ids(records, i));
        expect(await searchEvents(needle)).toEqual(ids(events, i));
      }
      expect(await searchLogs(ascii.slice(0, length).toUpperCase())).toEqual(ids(records, 0));
      expect(await searchEvents(ascii.slice(0, length).toLowerCase())).toEqual(ids(events, 0));
    });
  }

  it("% and _ match only themselves; case folding is ASCII only, as LIKE's", async () => {
    expect(await searchLogs("100%")).toEqual(ids(records, 2));
    expect(await searchLogs("a_b")).toEqual(ids(records, 4));
    expect(await searchEvents("100%")).toEqual(ids(events, 2));
    expect(await searchEvents("a_b")).toEqual(ids(events, 4));
    expect(await searchLogs("%")).toEqual(ids(records, 2));
    expect(await searchLogs("Ü")).toEqual([]);
  });

  it("129 characters is a 422", async () => {
    const res = await api(`/api/v1/audit/logs?search=${"x".repeat(129)}`, { as: t.admin.as });
    expect([res.status, res.json.error.details]).toEqual([422, [{ field: "search", message: "Too big: expected string to have <=128 characters" }]]);
  });
});

describe("query parameters at their extremes answer 2xx or 4xx, never 5xx", () => {
  const list = (query: string) => api(`/api/v1/audit/logs?${query}`, { as: t.admin.as });
  const repeat = (key: string, values: readonly string[], times = 1) => values.flatMap((v) => Array(times).fill(`${key}=${v}`)).join("&");

  it("list filters: a value repeated 150 times, or every value of the enum, bind within D1's 100 parameters", async () => {
    const repeated = await list(`${repeat("action", ["update"], 150)}&${repeat("resource_type", ["device"], 150)}`);
    expect([repeated.status, repeated.json.total]).toEqual([200, notes.length]);
    const every = await list(`${repeat("action", AUDIT_ACTIONS)}&${repeat("resource_type", RESOURCE_TYPES)}&search=done&status=success&actor_id=${crypto.randomUUID()}`);
    expect([every.status, every.json.total]).toEqual([200, 0]);
    // Without an actor the search index's list drives the count and may drive the page: more parameters a statement.
    const everyBySearch = await list(`${repeat("action", AUDIT_ACTIONS)}&${repeat("resource_type", RESOURCE_TYPES)}&search=done&status=success&site_id=${crypto.randomUUID()}&start_date=2020-01-01&end_date=2099-01-01`);
    expect([everyBySearch.status, everyBySearch.json.total]).toEqual([200, 0]);
    const exported = await api("/api/v1/audit/export", { method: "POST", as: t.admin.as, body: { actions: Array(150).fill("update"), resource_types: [...RESOURCE_TYPES, ...RESOURCE_TYPES] } });
    expect([exported.status, exported.json.total]).toEqual([200, notes.length]);
  });

  it("long identifiers, far dates and huge pages", async () => {
    const long = "x".repeat(10_000);
    for (const query of [`resource_id=${long}`, `actor_id=${long}`, `site_id=${long}`, "start_date=275760-09-13"]) {
      expect([query.slice(0, 20), (await list(query)).status]).toEqual([query.slice(0, 20), 422]);
    }
    for (const query of ["page=1e300", "page=99999999999999999999", "page=9007199254740993&per_page=200"]) {
      const { status } = await list(query);
      expect([query, status >= 400 && status < 500]).toEqual([query, true]);
    }
    for (const query of ["start_date=9999-12-31", "end_date=9999-12-31T23:59:59-14:00", "start_date=0000-01-01&end_date=9999-12-31"]) {
      expect([query, (await list(query)).status]).toEqual([query, 200]);
    }
    for (const path of [`/api/v1/audit/logs/${long}`, `/api/v1/audit/logs/resource/device/${long}`, `/api/v1/audit/logs/user/${long}`]) {
      expect((await api(path, { as: t.admin.as })).status).toBe(422);
    }
  });
});

describe("date filters take only days the calendar has", () => {
  // Date.parse rolls these over into the next month; each must be a 422 naming its field, wherever a date filter is taken.
  const impossible = ["2026-02-30", "2026-02-29", "2026-04-31", "1900-02-29"];
  const named = (res: { status: number; json: any }) => [res.status, res.json.error.details.map((d: { field: string }) => d.field)];

  it("query filters: logs, activity and security summaries, security events", async () => {
    const paths = ["/api/v1/audit/logs", "/api/v1/audit/summary/activity", "/api/v1/audit/summary/security", "/api/v1/audit/security", "/api/v1/audit/security-events"];
    for (const path of paths) {
      for (const field of ["start_date", "end_date"]) {
        for (const day of impossible) {
          const res = await api(`${path}?${field}=${day}`, { as: t.admin.as });
          expect([path, field, day, ...named(res)]).toEqual([path, field, day, 422, [field]]);
        }
      }
    }
  });

  it("export bodies: the capped export and the bulk export", async () => {
    for (const path of ["/api/v1/audit/export", "/api/v1/audit/exports"]) {
      for (const field of ["start_date", "end_date"]) {
        const res = await api(path, { method: "POST", as: t.admin.as, body: { [field]: "2026-02-30" } });
        expect([path, field, ...named(res)]).toEqual([path, field, 422, [field]]);
      }
    }
  });

  it("leap days of leap years are days: 2000, 2024, 2028", async () => {
    const res = await api("/api/v1/audit/logs?start_date=2000-02-29&end_date=2028-02-29", { as: t.admin.as });
    expect(res.status).toBe(200);
    const activity = await api("/api/v1/audit/summary/activity?start_date=2024-02-29", { as: t.admin.as });
    expect([activity.status, activity.json.start_date]).toEqual([200, "2024-02-29T00:00:00.000Z"]);
  });
});

describe("whole numbers in a query string are plain digits", () => {
  it("9.0, 09, 1e2 and 0x9 are a 422 naming the parameter, not read as numbers", async () => {
    const message = "must be a whole number written in plain digits";
    for (const value of ["9.0", "09", "1e2", "0x9", " 9", "-1"]) {
      const res = await api(`/api/v1/audit/logs?per_page=${encodeURIComponent(value)}`, { as: t.admin.as });
      expect([value, res.status, res.json.error.details]).toEqual([value, 422, [{ field: "per_page", message }]]);
    }
    const proof = await api(`/api/v1/audit/logs/${records[0]!.id}/proof?tree_size=1.0`, { as: t.admin.as });
    expect([proof.status, proof.json.error.details]).toEqual([422, [{ field: "tree_size", message }]]);
    expect((await api("/api/v1/audit/logs?per_page=100", { as: t.admin.as })).json.per_page).toBe(100);
  });
});
