import { type AuditRecord, canonicalRow } from "../src/audit/chain/record";
import { KeyEpochs, keyRotationOf } from "../src/audit/chain/walker";
import { CompactRange } from "../src/crypto/merkle/compact-range";
import { leafHashOfCanonical } from "../src/crypto/merkle/hash";
import type { TreeHead } from "../src/crypto/merkle/tree-head";
import { GzipError, openChainFile } from "./chain-files";
import { fileLines, type Found, type Located } from "./chain-walk";
import { UsageError } from "./io";
import { Progress } from "./progress";

/**
 * Leaves [lo, hi) whose hash a proof states (`expected`): the walk hashes them as they stream by,
 * so comparing them after it names the leftmost run that differs. Proof ranges start at a multiple
 * of a power of two at least their size, so a CompactRange fed from lo hashes exactly MTH(lo, hi).
 */
export type Segment = { lo: number; hi: number; expected: Uint8Array };
export type WalkedSegment = Segment & { hash: Uint8Array | null; first: Located | null; last: Located | null };

export type LeafWalk = {
  organizationId: string | null;
  /** The chained rows checked: seq firstSeq–lastSeq, never beyond the head's size. */
  firstSeq: number | null;
  lastSeq: number | null;
  first: Located | null;
  last: Located | null;
  leaves: number;
  /** The unchained (legacy) rows by id, and the import records among the leaves, which must cover them. */
  unchained: Map<string, AuditRecord>;
  imports: AuditRecord[];
  /** The first row after the head's size: the head does not cover it, so the walk stops there. */
  beyond: Located | null;
  found: Found | null;
  /** The root the leaves give at the head's size; null when the walk broke or the files end before it. */
  root: Uint8Array | null;
  segments: WalkedSegment[];
};

type Tracked = { segment: Segment; range: CompactRange; first: Located | null; last: Located | null };

/**
 * Streams the files as one chain (seq order, several files in the order given) and hashes the leaf
 * of every chained row (docs/protocol.md §12) into the tree of `head`, starting from `prefix`, the compact
 * range of the leaves before the files' first row. Each row's prev_hash must be the row_hmac before
 * it. Unchained rows are not in the tree: they are kept, with the import records among the leaves,
 * for the caller to check that those cover them.
 */
export async function walkLeaves(paths: string[], head: TreeHead, prefix: CompactRange | null, segments: Segment[]): Promise<LeafWalk> {
  if (prefix && prefix.size >= head.size) {
    throw new UsageError(`the compact range covers ${prefix.size} leaves: nothing is left to check against a tree head of size ${head.size}`);
  }
  const tree = prefix ? prefix.clone() : new CompactRange(0, []);
  const tracked: Tracked[] = [...segments].sort((a, b) => a.lo - b.lo).map((segment) => ({ segment, range: new CompactRange(0, []), first: null, last: null }));
  const walk: LeafWalk = { organizationId: null, firstSeq: null, lastSeq: null, first: null, last: null, leaves: 0, unchained: new Map(), imports: [], beyond: null, found: null, root: null, segments: [] };
  // The row_hmac the next row's prev_hash must name (docs/protocol.md §1). The links are not in the
  // leaves, but checking them needs no key; the first row after a compact range links to a row that
  // is not in the files, so its link is trusted, as the HMAC walk trusts it.
  let link: string | null | undefined = prefix ? undefined : null;
  // The key epochs (docs/protocol.md §3), by the rule ChainWalker applies: key_id and the rotation
  // statement are in the leaves, so a row the signed root proves was sealed in its epoch or not.
  // Like the HMAC walk of a range, the first row opens the epoch and the rotations walked close them.
  const epochs = new KeyEpochs();
  const progress = new Progress(process.stderr);
  const seenIds = new Set<string>();
  const several = paths.length > 1;
  outer: for (const path of paths) {
    const file = several ? path : null;
    const reader = await openChainFile(path);
    try {
      for await (const read of fileLines(reader.lines(), seenIds)) {
        if ("broken" in read) {
          walk.found = { ...read.broken, file, line: read.line };
          break outer;
        }
        const { record, line } = read;
        if (record.seq === null) {
          walk.unchained.set(record.id, record);
          continue;
        }
        const at: Located = { seq: record.seq, id: record.id, file, line };
        const broken = (reason: string) => ({ id: record.id, seq: record.seq, reason, file, line });
        if (walk.firstSeq === null) {
          walk.organizationId = record.organization_id;
          walk.firstSeq = record.seq;
          walk.first = at;
          if (!prefix && record.seq > 1) {
            walk.found = broken(unprovenStart("the tree head", record.seq, several, treeEvidence(record.seq)));
            break outer;
          }
        }
        if (record.organization_id !== head.organizationId) {
          walk.found = broken(`organization mismatch (the tree head is organization ${head.organizationId}'s)`);
          break outer;
        }
        if (record.seq !== tree.size + 1) {
          const reason = record.seq > tree.size + 1 ? "seq gap" : "seq out of order";
          const starts = walk.leaves === 0 ? ` (the compact range covers seq 1–${tree.size}, so the files must start at seq ${tree.size + 1})` : "";
          walk.found = broken(reason + starts);
          break outer;
        }
        if (record.seq > head.size) {
          walk.beyond = at;
          break outer;
        }
        if (link !== undefined && record.prev_hash !== link) {
          walk.found = broken("prev_hash mismatch");
          break outer;
        }
        // A chained row without key_id was sealed with no key: the HMAC walk's "unknown key_id".
        if (record.key_id === null) {
          walk.found = broken("unknown key_id");
          break outer;
        }
        const rotation = keyRotationOf(record.action, record.metadata);
        if (!epochs.admits(record.key_id, rotation)) {
          walk.found = broken("key_id out of epoch");
          break outer;
        }
        epochs.enter(record.key_id, rotation);
        link = record.row_hmac;
        const leaf = await leafHashOfCanonical(canonicalRow(record));
        await tree.append(leaf, () => {});
        const index = record.seq - 1;
        const segment = tracked.find((t) => t.segment.lo <= index && index < t.segment.hi);
        if (segment) {
          await segment.range.append(leaf, () => {});
          segment.first ??= at;
          segment.last = at;
        }
        if (record.action === "import") walk.imports.push(record);
        walk.leaves++;
        walk.lastSeq = record.seq;
        walk.last = at;
        progress.tick(walk.leaves, record.seq);
      }
    } catch (err) {
      if (!(err instanceof GzipError)) throw err;
      walk.found = { id: null, seq: null, reason: `not a valid gzip file (${err.message})`, file: path, line: null };
      break;
    } finally {
      reader.close();
    }
  }
  progress.done();
  if (!walk.found && walk.lastSeq === head.size) walk.root = await tree.root();
  for (const t of tracked) {
    const whole = t.range.size === t.segment.hi - t.segment.lo;
    walk.segments.push({ ...t.segment, hash: whole ? await t.range.root() : null, first: t.first, last: t.last });
  }
  return walk;
}

/**
 * Why a walk that starts at `firstSeq` > 1 proves nothing about the rows before it: `what` (the tree
 * head, a checkpoint) speaks for them too, and `evidence` says what would.
 */
export const unprovenStart = (what: string, firstSeq: number, several: boolean, evidence: string) =>
  `${what} could not be checked: ${several ? "the files start" : "the file starts"} at seq ${firstSeq} without the evidence before it (${evidence})`;

/** What proves the leaves before `firstSeq` against a tree head. */
const treeEvidence = (firstSeq: number) =>
  `pass --compact-range FILE: the compact range of the first ${firstSeq - 1} leaves, which the export or archive carries`;
