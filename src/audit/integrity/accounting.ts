import type { AuditKeyring } from "../../crypto/keys";
import type { Database } from "../../db/client";
import type { ChainBreak } from "../chain/walker";
import { importCoverageBreak, importStatementOf } from "../chain/legacy-import";
import { recordFromRow, type StoredRow } from "../chain/stored-row";
import { sealChecks } from "../chain/seal-check";
import { rowAtOrBelow } from "../chain/store";
import { chainedImportRecords, chainedSpanFrom, firstRowAfterGap, firstRowOutsideSeqRange, rowsWithIds, unchainedIdsAfter } from "../chain/store";

const UNCHAINED_PAGE = 5_000;

/**
 * Rows the walk by seq never reads (docs/protocol.md, "Every row accounted for"): a seq no chain
 * can hold is broken wherever it sits, since every read API would still list the row.
 */
export async function rowOutsideSeqRange(db: Database, orgId: string): Promise<ChainBreak | null> {
  const row = await firstRowOutsideSeqRange(db, orgId);
  return row ? { id: row.id, seq: row.seq, reason: "seq out of range" } : null;
}

/**
 * A walk that stops before the head answers for the rows beyond it too: the chained rows from
 * `fromSeq` must fill fromSeq..last without a hole, or the row after the first hole is the break
 * the walk would meet there (a row planted far beyond the head is one).
 */
export async function seqGapAhead(db: Database, orgId: string, fromSeq: number): Promise<ChainBreak | null> {
  const span = await chainedSpanFrom(db, orgId, fromSeq);
  if (span.last === null || span.rows === span.last - fromSeq + 1) return null;
  const row = await firstRowAfterGap(db, orgId, fromSeq);
  return row ? { id: row.id, seq: row.seq, reason: "seq gap" } : null;
}

/** After a prune through `seq` no chained row at or below it may be left: every read API would still list it. */
export async function rowBehindAnchor(db: Database, orgId: string, seq: number): Promise<ChainBreak | null> {
  const row = await rowAtOrBelow(db, orgId, seq);
  return row ? { id: row.id, seq: row.seq, reason: "row behind prune anchor" } : null;
}

function parsedRow(row: StoredRow | undefined) {
  try {
    return row && recordFromRow(row);
  } catch {
    // Stored JSON that no longer parses: the row no longer holds what was imported.
    return undefined;
  }
}

/**
 * Every unchained row must be one that a sealed `import` record of chainproof's names, with the
 * content that record's digest states; anything else was planted or edited after the import.
 */
export async function uncoveredUnchainedRow(db: Database, keyring: AuditKeyring, orgId: string): Promise<ChainBreak | null> {
  const imports = await chainedImportRecords(db, orgId);
  const seals = await sealChecks(keyring, imports);
  const covered = new Set<string>();
  for (const [i, record] of imports.entries()) {
    const statement = seals[i] === "valid" ? importStatementOf(JSON.parse(record.metadata)) : null;
    // A client's own `import` record (or one whose seal fails, which the walk reports) covers nothing.
    if (!statement) continue;
    const byId = new Map((await rowsWithIds(db, orgId, statement.ids)).map((r) => [r.id, r]));
    const broken = await importCoverageBreak(record, statement, (id) => parsedRow(byId.get(id)));
    if (broken) return broken;
    for (const id of statement.ids) covered.add(id);
  }
  for (let after = ""; ; ) {
    const ids = await unchainedIdsAfter(db, orgId, after, UNCHAINED_PAGE);
    const stray = ids.find((id) => !covered.has(id));
    if (stray !== undefined) return { id: stray, seq: null, reason: "unchained row not covered by an import" };
    if (ids.length < UNCHAINED_PAGE) return null;
    after = ids.at(-1)!;
  }
}
