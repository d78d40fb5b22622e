import { expect } from "vitest";
import { type AuditRecord, canonicalRow } from "../src/audit/chain/record";
import { CompactRange, type CompactRangeJson, compactRangeFromJson } from "../src/crypto/merkle/compact-range";
import { leafHashOfCanonical } from "../src/crypto/merkle/hash";
import { type TreeHead, verifyTreeHead } from "../src/crypto/merkle/tree-head";
import { api } from "./helpers";

/** The signed tree head as an auditor checks it: with the keys of the public JWKS only. */
export async function checkedTreeHead(note: string): Promise<TreeHead> {
  const keys = (await api("/.well-known/jwks.json")).json.keys as { x: string }[];
  const checked = await verifyTreeHead(note, keys);
  if (!checked.ok) throw new Error(`the tree head does not verify: ${checked.reason}`);
  return checked.head;
}

/**
 * The tree size and root that the chained records of a file (in seq order, legacy rows skipped)
 * make on top of the compact range before them: what an offline check compares with a tree head.
 */
export async function rootOfRecords(before: CompactRangeJson | null, records: readonly AuditRecord[]) {
  const range = before ? compactRangeFromJson(before) : new CompactRange(0, []);
  const chained = records.filter((r) => r.seq !== null);
  for (const record of chained) {
    expect(record.seq).toBe(range.size + 1);
    await range.append(await leafHashOfCanonical(canonicalRow(record)), () => undefined);
  }
  return { size: range.size, root: await range.root() };
}

export const jsonLinesOf = (text: string) => text.trimEnd().split("\n").map((line) => JSON.parse(line) as AuditRecord);
