import { sha256Hex } from "../../crypto/encoding";
import { type ChainBreak, OWN_RECORD_SOURCE } from "./walker";
import { canonicalRow, type AuditRecord } from "./record";

/**
 * What chainproof's own `import` record seals about the legacy rows it brings in (docs/protocol.md,
 * "Every row accounted for"): their ids, in import order, and a digest of their content, so that
 * validation can tell an imported row from one planted later, and an imported row from an edited one.
 */
export type ImportStatement = { legacy_records: number; ids: string[]; content_sha256: string };

/** content_sha256 = hex(SHA-256(utf8(canonical(row_1) || "\n" || … || canonical(row_n)))), rows in `ids` order. */
export const importedContentDigest = (rows: readonly Omit<AuditRecord, "prev_hash" | "row_hmac">[]) =>
  sha256Hex(rows.map(canonicalRow).join("\n"));

export async function importStatement(rows: readonly AuditRecord[]): Promise<ImportStatement> {
  return { legacy_records: rows.length, ids: rows.map((r) => r.id), content_sha256: await importedContentDigest(rows) };
}

/** The statement an import record's metadata carries, or null when it carries none (a client's own `import`). */
export function importStatementOf(metadata: unknown): Pick<ImportStatement, "ids" | "content_sha256"> | null {
  if (typeof metadata !== "object" || metadata === null) return null;
  const m = metadata as Record<string, unknown>;
  if (m.source !== OWN_RECORD_SOURCE || typeof m.content_sha256 !== "string") return null;
  if (!Array.isArray(m.ids) || !m.ids.every((id) => typeof id === "string")) return null;
  return { ids: m.ids as string[], content_sha256: m.content_sha256 };
}

const unchainedShape = (r: AuditRecord) => r.seq === null && r.key_id === null && r.prev_hash === null && r.row_hmac === null;

/**
 * How the rows an import record names fail it, or null when they are all there, still unchained,
 * and still the content it sealed. `rowOf` gives the organization's row with an id (undefined when
 * there is none, or its stored JSON no longer parses).
 */
export async function importCoverageBreak(
  importRecord: Pick<AuditRecord, "id" | "seq">,
  statement: Pick<ImportStatement, "ids" | "content_sha256">,
  rowOf: (id: string) => AuditRecord | undefined,
): Promise<ChainBreak | null> {
  const rows = statement.ids.map(rowOf);
  const missing = statement.ids.findIndex((_, i) => !rows[i] || !unchainedShape(rows[i]!));
  if (missing >= 0) return { id: statement.ids[missing]!, seq: null, reason: "imported row missing or no longer unchained" };
  let digest: string | null;
  try {
    digest = await importedContentDigest(rows as AuditRecord[]);
  } catch {
    // Text JCS refuses (e.g. a lone surrogate written in by hand) cannot match the digest.
    digest = null;
  }
  return digest === statement.content_sha256
    ? null
    : { id: importRecord.id, seq: importRecord.seq, reason: "imported rows do not match their import record" };
}
