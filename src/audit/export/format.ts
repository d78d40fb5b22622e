import { stringify } from "csv-stringify/sync";
import { RECORD_MEMBERS } from "../chain/record";
import { recordFromRow, type StoredRow } from "../chain/stored-row";

// RFC 4180: records end with CRLF, and a field holding any line break is quoted. With an explicit
// record_delimiter csv-stringify quotes only fields holding that exact CRLF unless
// quote_record_delimiter is set: a lone LF or CR (a user agent is client text) would end the record
// for a spreadsheet or Python's csv reader.
const CSV_OPTIONS = { escape_formulas: true, record_delimiter: "windows", quote_record_delimiter: true } as const;

export const csvHeader = () => stringify([RECORD_MEMBERS as unknown as string[]], CSV_OPTIONS);

/** RFC 4180 rows; JSON columns as JSON text; cells a spreadsheet would run as formulas are neutralized. */
export function csvRows(rows: StoredRow[]): string {
  const records = rows.map((row) => {
    const r = recordFromRow(row);
    return RECORD_MEMBERS.map((column) => {
      const value = r[column];
      return value !== null && typeof value === "object" ? JSON.stringify(value) : value;
    });
  });
  return stringify(records, { ...CSV_OPTIONS, cast: { number: (n) => String(n) } });
}

/** One record per line: the chain fields included, so the offline verifier can walk it. */
export const jsonLines = (rows: StoredRow[]) => rows.map((row) => `${JSON.stringify(recordFromRow(row))}\n`).join("");
