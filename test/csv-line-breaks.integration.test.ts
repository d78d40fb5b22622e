import { parse } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { api, appendBatch, createTenant, recordBody, runExportToEnd, type Tenant } from "./helpers";

// RFC 4180: a field holding a line break must be quoted. A bare LF or CR (a user agent is the
// client's text) written unquoted ends the CSV record there, and every column after it shifts.
const AGENTS = ["line one\nline two", "carriage\rreturn", "\rleading CR", "both\r\nends"];

let tenant: Tenant;

beforeAll(async () => {
  tenant = await createTenant();
  const res = await appendBatch(
    tenant.ingest.as,
    AGENTS.map((user_agent, i) => recordBody({ action: "login", user_agent, timestamp: `2026-02-0${i + 1}T00:00:00Z` })),
  );
  expect(res.status, res.text).toBe(201);
});

/**
 * The data rows of a CSV body as a spreadsheet or Python's csv module reads it: any of CRLF, LF and
 * CR outside quotes ends a record, and each record must have every column.
 */
function rowsOf(text: string) {
  const rows: string[][] = parse(text, { record_delimiter: ["\r\n", "\n", "\r"], relax_column_count: false });
  expect(rows[0]![10]).toBe("user_agent");
  return rows.slice(1);
}

describe("CSV exports quote line breaks", () => {
  it("the capped export: one CSV record per row, whatever line break a cell holds", async () => {
    const res = await api("/api/v1/audit/export", { method: "POST", as: tenant.admin.as, body: { format: "csv", actions: ["login"] } });
    expect(res.status, res.text).toBe(200);
    const rows = rowsOf(res.text);
    expect(rows).toHaveLength(AGENTS.length);
    // Newest first; a cell that starts with CR is also neutralized as a formula.
    expect(rows.map((r) => r[10])).toEqual(["both\r\nends", "'\rleading CR", "carriage\rreturn", "line one\nline two"]);
  });

  it("the bulk export: the same rows, one CSV record each", async () => {
    const started = await api("/api/v1/audit/exports", { method: "POST", as: tenant.admin.as, body: { format: "csv", actions: ["login"] } });
    expect(started.status, started.text).toBe(202);
    const done = await runExportToEnd(started.json.id, tenant.admin.as);
    expect(done.json.status).toBe("complete");
    const file = await api(new URL(done.json.download_url).pathname + new URL(done.json.download_url).search);
    expect(file.status).toBe(200);
    const rows = rowsOf(file.text);
    expect(rows).toHaveLength(done.json.row_count);
    expect(rows.map((r) => r[10])).toEqual(["line one\nline two", "carriage\rreturn", "'\rleading CR", "both\r\nends"]);
  });
});
