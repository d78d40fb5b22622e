import { stringify } from "csv-stringify/sync";
import type { StoredRow } from "./record";
import { recordFromRow } from "./record";

/** Every record field, in the order of the AuditLogRecord contract; CSV columns follow it. */
export const RECORD_COLUMNS = [
  "id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status",
  "ip_address", "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at",
  "key_id", "prev_hash", "row_hmac",
] as const;

// RFC 4180: records end with CRLF.
const CSV_OPTIONS = { escape_formulas: true, record_delimiter: "windows" } as const;

export const csvHeader = () => stringify([RECORD_COLUMNS as unknown as string[]], CSV_OPTIONS);

/** RFC 4180 rows; JSON columns as JSON text; cells a spreadsheet would run as formulas are neutralized. */
export function csvRows(rows: StoredRow[]): string {
  const records = rows.map((row) => {
    const r = recordFromRow(row);
    return RECORD_COLUMNS.map((column) => {
      const value = r[column];
      return value !== null && typeof value === "object" ? JSON.stringify(value) : value;
    });
  });
  return stringify(records, { ...CSV_OPTIONS, cast: { number: (n) => String(n) } });
}

/** One record per line: the chain fields included, so the offline verifier can walk it. */
export const jsonLines = (rows: StoredRow[]) => rows.map((row) => `${JSON.stringify(recordFromRow(row))}\n`).join("");
