import type { RowHasher } from "../src/audit/chain/walker";
import { timingSafeEqualStrings } from "../src/crypto/constant-time";
import { type Anchor, anchorStatement } from "../src/audit/chain/anchor";
import type { Walk } from "./chain-walk";
import { exactObject } from "./chain-walk";

const ANCHOR_TYPE = "chainproof.anchor.v1";
const STRING_MEMBERS = ["organization_id", "row_hmac", "archive_key", "archive_sha256", "created_at", "key_id", "anchor_hmac"] as const;
const COUNT_MEMBERS = ["pruned_through_seq", "pruned_count"] as const;
const MEMBERS: ReadonlySet<string> = new Set(["type", ...STRING_MEMBERS, ...COUNT_MEMBERS]);

/** The anchor in a file's text, or what is wrong with it: exactly its 10 members, each of its type. */
export function parseAnchor(text: string): Anchor | string {
  const value = exactObject(text, MEMBERS);
  if (typeof value === "string") return value;
  if (value.type !== ANCHOR_TYPE) return `type must be ${ANCHOR_TYPE}`;
  const notString = STRING_MEMBERS.filter((m) => typeof value[m] !== "string");
  if (notString.length > 0) return `${notString.join(", ")} must be strings`;
  const notCount = COUNT_MEMBERS.filter((m) => !(Number.isSafeInteger(value[m]) && (value[m] as number) >= 1));
  if (notCount.length > 0) return `${notCount.join(", ")} must be positive integers`;
  return value as Anchor;
}

/**
 * Why the anchor is not chainproof's, or null when it is:
 * anchor_hmac = hex(HMAC-SHA256(K[key_id], utf8(JCS(the 9 other members)))).
 */
export async function anchorForgery(anchor: Anchor, hasher: RowHasher): Promise<{ unknownKey: boolean; reason: string } | null> {
  const expected = await hasher(anchor.key_id, anchorStatement(anchor));
  if (expected === null) return { unknownKey: true, reason: `unknown key_id ${anchor.key_id} (none of the --keys has it)` };
  return timingSafeEqualStrings(expected, anchor.anchor_hmac) ? null : { unknownKey: false, reason: "anchor_hmac mismatch" };
}

/** What the files say about an authentic anchor: `text` follows its "seq b, hmac valid" on the anchor line. */
export type AnchorCheck = { ok: boolean; text: string };

/**
 * The anchor's archive must be among the files: the file whose last chained row is
 * pruned_through_seq must be byte for byte the archive it names (SHA-256 of the .gz as stored).
 * When the files start at genesis, the rows they hold up to that archive must be pruned_count.
 */
export function archiveCheck(anchor: Anchor, walk: Walk): AnchorCheck {
  const seq = anchor.pruned_through_seq;
  const index = walk.files.findIndex((f) => f.complete && f.lastSeq === seq);
  if (index < 0) {
    if (walk.found) return { ok: true, text: "archive not checked (the chain breaks before its end)" };
    return { ok: false, text: `its archive is not among the files (none ends at seq ${seq}; archive_key ${anchor.archive_key})` };
  }
  const archive = walk.files[index]!;
  if (archive.sha256 !== anchor.archive_sha256) {
    return { ok: false, text: `archive does not match its anchor (${archive.path} has sha256 ${archive.sha256}, the anchor names ${anchor.archive_sha256})` };
  }
  const matches = `archive matches anchor (${archive.path})`;
  if (walk.firstSeq !== 1) return { ok: true, text: `${matches}, pruned_count not checked (the files start at seq ${walk.firstSeq})` };
  const held = walk.files.slice(0, index + 1).reduce((sum, f) => sum + f.records, 0);
  if (held !== anchor.pruned_count) {
    return { ok: false, text: `${matches}, pruned_count ${anchor.pruned_count} does not match (the files hold ${held} rows through seq ${seq})` };
  }
  return { ok: true, text: `${matches}, pruned_count ${held} matches` };
}
