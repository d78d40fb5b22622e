import { canonicalJson } from "../../crypto/jcs";
import { hmacSha256Hex } from "../../crypto/hmac";
import { timingSafeEqualStrings } from "../../crypto/constant-time";
import type { pruneAnchors } from "../../db/schema";

export type AnchorRow = typeof pruneAnchors.$inferSelect;

/**
 * A prune anchor (docs/protocol.md, "Prune anchors"): what was pruned, up to which row, and where
 * its archive is. `pruned_count` counts every row pruned behind it, earlier prunes included.
 */
export type AnchorFields = {
  organization_id: string;
  pruned_through_seq: number;
  row_hmac: string;
  pruned_count: number;
  archive_key: string;
  archive_sha256: string;
  created_at: string;
  key_id: string;
};

export type Anchor = AnchorFields & { type: "chainproof.anchor.v1"; anchor_hmac: string };

export const anchorStatement = (a: AnchorFields) =>
  canonicalJson({
    type: "chainproof.anchor.v1",
    organization_id: a.organization_id,
    pruned_through_seq: a.pruned_through_seq,
    row_hmac: a.row_hmac,
    pruned_count: a.pruned_count,
    archive_key: a.archive_key,
    archive_sha256: a.archive_sha256,
    created_at: a.created_at,
    key_id: a.key_id,
  });

/** anchor_hmac = hex(HMAC-SHA256(K[key_id], utf8(JCS(anchor)))). */
export async function sealAnchor(fields: AnchorFields, key: CryptoKey): Promise<Anchor> {
  return { type: "chainproof.anchor.v1", ...fields, anchor_hmac: await hmacSha256Hex(key, anchorStatement(fields)) };
}

/** An anchor counts only when its seal verifies under the key it names; `keys` maps key ids to keys. */
export async function anchorIsAuthentic(anchor: Anchor, keys: ReadonlyMap<string, CryptoKey>): Promise<boolean> {
  const key = keys.get(anchor.key_id);
  if (!key) return false;
  return timingSafeEqualStrings(await hmacSha256Hex(key, anchorStatement(anchor)), anchor.anchor_hmac);
}

/** An anchor as stored, in the shape it is sealed and published in. */
export const anchorOf = (row: AnchorRow): Anchor => ({
  type: "chainproof.anchor.v1",
  organization_id: row.organizationId,
  pruned_through_seq: row.prunedThroughSeq,
  row_hmac: row.rowHmac,
  pruned_count: row.prunedCount,
  archive_key: row.archiveKey,
  archive_sha256: row.archiveSha256,
  created_at: row.createdAt,
  key_id: row.keyId,
  anchor_hmac: row.anchorHmac,
});

