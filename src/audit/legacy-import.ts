import { sha256Hex } from "../crypto/encoding";
import { OWN_RECORD_SOURCE } from "./chain-verify";
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
