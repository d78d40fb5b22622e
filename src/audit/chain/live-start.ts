import type { AuditKeyring } from "../../crypto/keys";
import type { Database } from "../../db/client";
import type { ChainBreak, WalkStart } from "./walker";
import { type Anchor, anchorIsAuthentic, anchorOf, anchorStatement } from "./anchor";
import { newestAnchorRow } from "./store";

export type LiveStart = { start: WalkStart; anchor: Anchor | null; broken: ChainBreak | null };

/**
 * Where the live chain starts (docs/protocol.md, "Prune anchors"): genesis, or the row after the
 * newest anchor, linking to the row_hmac it states. An anchor that does not verify under its key
 * is a break: someone edited it, or forged one to hide deleted rows.
 */
export async function liveChainStart(db: Database, keyring: AuditKeyring, orgId: string): Promise<LiveStart> {
  const row = await newestAnchorRow(db, orgId);
  if (!row) return { start: { organizationId: orgId, seq: 1, prevHash: null }, anchor: null, broken: null };
  const anchor = anchorOf(row);
  const authentic = row.statement === anchorStatement(anchor) && anchor.organization_id === orgId && (await anchorIsAuthentic(anchor, keyring.byId));
  return {
    start: { organizationId: orgId, seq: anchor.pruned_through_seq + 1, prevHash: anchor.row_hmac },
    anchor,
    broken: authentic ? null : { id: null, seq: anchor.pruned_through_seq, reason: "anchor mismatch" },
  };
}
