import { toHex } from "../../crypto/encoding";
import type { AuditKeyring } from "../../crypto/keys";
import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { anchorIsAuthentic, anchorOf, anchorStatement } from "../chain/anchor";
import { anchorsOf } from "../chain/store";
import type { ChainBreak } from "../chain/walker";

/**
 * The archives behind an organization's prune anchors are still the bytes each anchor sealed
 * (docs/protocol.md, "Prune anchors"): every anchor verifies, and the SHA-256 of its R2 archive is
 * its `archive_sha256`. Streams each archive through a digest, so memory stays flat; run by the
 * weekly full validation, not by every walk.
 */
export async function archiveBreak(env: Env, db: Database, keyring: AuditKeyring, orgId: string): Promise<ChainBreak | null> {
  for (const row of await anchorsOf(db, orgId)) {
    const anchor = anchorOf(row);
    const at = { id: null, seq: anchor.pruned_through_seq };
    if (row.statement !== anchorStatement(anchor) || !(await anchorIsAuthentic(anchor, keyring.byId))) return { ...at, reason: "anchor mismatch" };
    const object = await env.ARCHIVE.get(anchor.archive_key);
    if (!object) return { ...at, reason: "archive missing" };
    const digest = new crypto.DigestStream("SHA-256");
    await object.body.pipeTo(digest);
    if (toHex(await digest.digest) !== anchor.archive_sha256) return { ...at, reason: "archive mismatch" };
  }
  return null;
}
