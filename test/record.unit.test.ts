import { getTableColumns } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type AuditRecord, canonicalRow, RECORD_MEMBERS, SEALED_MEMBERS } from "../src/audit/chain/record";
import { canonicalStoredRow, recordFromRow, toStoredRow } from "../src/audit/chain/stored-row";
import { AuditRecordSchema } from "../src/audit/chain/record-schema";
import { auditLogs } from "../src/db/schema";

const record = (overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  id: "7d9f3c0e-1b2a-4c5d-8e9f-0a1b2c3d4e5f",
  organization_id: "0b8e4f5a-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
  seq: 42,
  site_id: null,
  actor_id: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
  action: "update",
  resource_type: "service",
  resource_id: "svc_0a1b",
  status: "success",
  ip_address: "203.0.113.7",
  user_agent: "platform/1.0",
  changes: { hostname: { old: "a", new: "b" } },
  previous_state: null,
  new_state: null,
  metadata: { ticket: "OPS-1" },
  timestamp: "2026-01-02T03:04:05.678Z",
  recorded_at: "2026-01-02T03:04:05.999Z",
  key_id: "0123456789abcdef",
  prev_hash: "ab".repeat(32),
  row_hmac: "cd".repeat(32),
  ...overrides,
});

describe("one definition of the record", () => {
  it("the API schema has exactly the listed members, in the contract's order", () => {
    expect(AuditRecordSchema.keyof().options).toEqual([...RECORD_MEMBERS]);
  });

  it("the D1 table has exactly the record's members as columns", () => {
    const columns = Object.values(getTableColumns(auditLogs)).map((c) => c.name);
    expect([...columns].sort()).toEqual([...RECORD_MEMBERS].sort());
    expect(RECORD_MEMBERS).toHaveLength(20);
  });

  it("seals the 18 members of docs/protocol.md §1: all but prev_hash and row_hmac", () => {
    expect(SEALED_MEMBERS).toEqual([
      "id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status", "ip_address",
      "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id",
    ]);
    expect(Object.keys(JSON.parse(canonicalRow(record())))).toEqual([...SEALED_MEMBERS].sort());
  });

  it("a stored row reads back as the record it was written from", () => {
    const r = record({ previous_state: { v: [1, 2.5, null] }, new_state: {} });
    expect(recordFromRow(toStoredRow(r))).toEqual(r);
  });

  // The fast path seals and validates without parsing; it must equal the general JCS path.
  it.each([
    ["plain", record()],
    ["nulls", record({ seq: null, key_id: null, prev_hash: null, row_hmac: null, changes: null, resource_id: null, ip_address: null, user_agent: null, metadata: {} })],
    ["escapes", record({ user_agent: 'quote " backslash \\ tab \t nl \n é 😀 \u2028 \u0000', site_id: "2c9a8f6e-3b4d-4e5f-8a6b-7c8d9e0f1a2b" })],
    ["numbers and nesting", record({ previous_state: { b: [1, 2.5, -0.0001, 1.5e-7, 0.1, 1e21, true, null], a: { é: "x", z: "\u0000" } }, new_state: { n: 123456789012345 } })],
  ])("canonical(row) from the stored columns equals the JCS of the record: %s", (_label, r) => {
    expect(canonicalStoredRow(toStoredRow(r))).toBe(canonicalRow(r));
  });
});
