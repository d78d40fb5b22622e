import { getTableColumns } from "drizzle-orm";
import { canonicalJson } from "../../crypto/jcs";
import { auditLogs } from "../../db/schema";
import { type AuditRecord, JSON_MEMBERS, RECORD_MEMBERS, type RecordMember, SEALED_MEMBERS } from "./record";

export type StoredRow = typeof auditLogs.$inferSelect;

/** The drizzle property that holds each member (the D1 column is named like the member). */
const STORED_KEY = Object.fromEntries(
  Object.entries(getTableColumns(auditLogs)).map(([key, column]) => [column.name, key as keyof StoredRow]),
) as Record<RecordMember, keyof StoredRow>;

// The sealed members in JCS order (their names are ASCII, so code-unit order is plain sort order).
const CANONICAL_PLAN = [...SEALED_MEMBERS]
  .sort()
  .map((m, i) => ({ prefix: `${i === 0 ? "" : ","}${JSON.stringify(m)}:`, key: STORED_KEY[m], json: JSON_MEMBERS.has(m) }));

/**
 * canonical(row) straight from the stored columns, without parsing: JSON columns as the JCS text
 * they are stored as, other values as JCS writes them (JSON.stringify, for well-formed text).
 * Equal to canonicalRow(recordFromRow(row)) whenever the stored JSON is canonical; a test pins it.
 */
export function canonicalStoredRow(r: StoredRow): string {
  // A plain indexed loop: it runs once per row of every validation walk and every append.
  let out = "{";
  for (let i = 0; i < CANONICAL_PLAN.length; i++) {
    const step = CANONICAL_PLAN[i]!;
    const value = r[step.key];
    out += step.prefix + (value === null ? "null" : step.json ? (value as string) : JSON.stringify(value));
  }
  return `${out}}`;
}

/** The row as D1 stores it: JSON columns as their JCS text, each computed once. */
export function toStoredRow(r: AuditRecord): StoredRow {
  const row: Record<string, unknown> = {};
  for (const m of RECORD_MEMBERS) {
    const value = r[m];
    row[STORED_KEY[m]] = JSON_MEMBERS.has(m) && value !== null ? canonicalJson(value) : value;
  }
  return row as StoredRow;
}

export function recordFromRow(row: StoredRow): AuditRecord {
  const record: Record<string, unknown> = {};
  for (const m of RECORD_MEMBERS) {
    const value = row[STORED_KEY[m]];
    record[m] = JSON_MEMBERS.has(m) && value !== null ? JSON.parse(value as string) : value;
  }
  return record as AuditRecord;
}

/** A stored row as the values of RECORD_MEMBERS, in order: one D1 insert tuple. */
export const storedTuple = (row: StoredRow) => RECORD_MEMBERS.map((m) => row[STORED_KEY[m]]);
