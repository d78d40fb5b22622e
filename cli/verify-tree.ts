import { sameHash } from "../src/crypto/merkle/hash";
import { splitPoint } from "../src/crypto/merkle/ranges";
import type { TreeHead } from "../src/crypto/merkle/tree-head";
import { type PublicJwk, UsageError } from "./io";
import { inclusionAnswer, inclusionProblem, inclusionSegments, readCompactRange } from "./proof-input";
import { authenticHead, headText, type SignedNoteFile } from "./tree-head";
import { breakText, type Located, uncoveredRow } from "./chain-walk";
import { type LeafWalk, type Segment, walkLeaves } from "./tree-walk";

/** One line of the answer: `label:` padded like the rest of the CLI's output. */
export const line = (label: string, text: string) => `${`${label}:`.padEnd(14)}${text}`;

/** The verdict of the public check of the files against a signed tree head, and its lines as [label, text]. */
export type TreeCheck = { valid: boolean; organizationId: string | null; lines: [string, string][] };

const where = (at: Located) => (at.file === null ? `line ${at.line}` : `${at.file} line ${at.line}`);

/** seq a–b and where they are in the files. */
function runText(first: Located, last: Located) {
  if (first.seq === last.seq) return `seq ${first.seq}, id ${first.id}, ${where(first)}`;
  const lines = first.file === last.file ? `${first.file === null ? "" : `${first.file} `}lines ${first.line}–${last.line}` : `${where(first)} – ${where(last)}`;
  return `seq ${first.seq}–${last.seq} (${lines})`;
}

/** The proof's runs the walk could hash whole, leftmost first: the first that differs holds the first changed record. */
function firstDifferentRun(walk: LeafWalk) {
  return walk.segments.find((s) => s.hash !== null && !sameHash(s.hash, s.expected) && s.first && s.last) ?? null;
}

/** Names the first record that does not match the root, as precisely as the proof given allows. */
function rootBreak(walk: LeafWalk, head: TreeHead, proofGiven: boolean, prefixGiven: boolean): string {
  const run = firstDifferentRun(walk);
  if (run && run.hi - run.lo === 1) return `${runText(run.first!, run.last!)}: leaf mismatch (this record is not the one the signed tree head holds at seq ${run.hi})`;
  if (run) {
    // That leaf's audit path holds the left part of this run as one sibling: one more proof halves it.
    const next = run.lo + splitPoint(run.hi - run.lo) + 1;
    return `${runText(run.first!, run.last!)}: a record among these does not match the signed tree head (the inclusion proof of seq ${next} at tree_size ${head.size} would narrow it down)`;
  }
  const all = runText(walk.first!, walk.last!);
  const before = prefixGiven ? ", or the compact range is not this tree's" : "";
  if (proofGiven) return `${all}: the leaves do not give the signed root${before}; the inclusion proof given does not single out a record of the files`;
  return (
    `${all}: the leaves do not give the signed root${before}; a record among these was changed, added or removed ` +
    `(pass the inclusion proof of one of them, GET /api/v1/audit/logs/{id}/proof?tree_size=${head.size}, as --checkpoint to narrow it down)`
  );
}

/**
 * Who else checks the files. "alone" (no --key): the tree check answers for the whole file, so the
 * unchained rows must be covered by the import records among its leaves, and a row after the head's
 * size, which nothing signed covers, is a break. "with the HMAC walk" (--key): the walk checks those.
 */
export type TreeCheckRole = "alone" | "with the HMAC walk";

/** A row after the head's size: with no key, nothing the auditor holds vouches for it. */
const beyondHead = (head: TreeHead) =>
  `not covered by the signed tree head, which ends at seq ${head.size}: nothing proves this row or the ones after it ` +
  "(check the files against the tree head of their last seq, the one the export carries)";

/**
 * Checks the files against the signed tree head in `noteFile` with only the public JWKS: the note's
 * signature, then every chained row's leaf, which must give the note's root at its size, and the
 * prev_hash links between the rows, which need no key either. When the note file is an inclusion
 * proof answer, its hashes localize a mismatch.
 */
export async function checkTree(files: string[], noteFile: SignedNoteFile, jwks: PublicJwk[], compactRangePath: string | undefined, role: TreeCheckRole): Promise<TreeCheck> {
  const prefix = compactRangePath ? await readCompactRange(compactRangePath) : null;
  const invalid = (text: string): TreeCheck => ({ valid: false, organizationId: null, lines: [["tree head", text]] });
  const signed = await authenticHead(noteFile.note, jwks);
  if (!signed.ok) return invalid(`${noteFile.path} is not authentic: ${signed.reason}`);
  const { head } = signed;
  if (head.size === 0) throw new UsageError(`the tree head in ${noteFile.path} has size 0: it covers no record`);

  let segments: Segment[] = [];
  const proofGiven = noteFile.json !== null && "inclusion" in noteFile.json;
  if (proofGiven) {
    const answer = inclusionAnswer(noteFile.json!);
    if (typeof answer === "string") return invalid(`${noteFile.path} is not an inclusion proof answer: ${answer}`);
    const problem = await inclusionProblem(answer, head);
    if (problem) return invalid(`${noteFile.path}: ${problem}`);
    segments = inclusionSegments(answer);
  }

  const walk = await walkLeaves(files, head, prefix, segments);
  const lines: [string, string][] = [];
  if (walk.lastSeq !== null) lines.push(["rows", `${walk.leaves} in the tree (seq ${walk.firstSeq}–${walk.lastSeq}), ${walk.unchained.size} unchained`]);
  if (walk.firstSeq !== null) {
    const start = prefix
      ? `seq ${walk.firstSeq}: the ${prefix.size} leaves before it from the compact range (they count only through the root)`
      : walk.firstSeq === 1
        ? "genesis (seq 1)"
        : `seq ${walk.firstSeq}, without the compact range of the ${walk.firstSeq - 1} leaves before it`;
    lines.push(["start", start]);
  }
  lines.push(["tree head", headText(head, signed.kid)]);
  const several = files.length > 1;
  let found: string | null = null;
  if (walk.found) {
    found = breakText(walk.found);
  } else if (walk.lastSeq === null || walk.lastSeq < head.size) {
    const ends = walk.lastSeq === null ? `${several ? "the files have" : "the file has"} no chained rows` : `${several ? "the files end" : "the file ends"} at seq ${walk.lastSeq}`;
    found = `seq ${(walk.lastSeq ?? 0) + 1}: ${ends}, the tree head covers ${head.size} (the tail was cut)`;
  } else if (!sameHash(walk.root!, head.root)) {
    found = rootBreak(walk, head, proofGiven, prefix !== null);
  } else {
    lines.push(["root", `matches the leaves of seq 1–${head.size}`]);
    if (role === "alone") found = await unverifiedRowBreak(walk, head);
  }
  if (walk.beyond && role !== "alone") lines.push(["note", `the files go on after seq ${head.size}: those rows are not covered by this tree head and were not checked`]);
  if (found) lines.push(["first break", found]);
  return { valid: found === null, organizationId: walk.organizationId, lines };
}

/**
 * With no key, once the leaves give the signed root: the first row of the files that the root does
 * not vouch for. A row after the head's size, or an unchained row that no import record among the
 * leaves covers as it was imported (docs/protocol.md §4: the ids and digest it seals are in its leaf).
 */
async function unverifiedRowBreak(walk: LeafWalk, head: TreeHead): Promise<string | null> {
  if (walk.beyond) return breakText({ ...walk.beyond, reason: beyondHead(head) });
  const uncovered = await uncoveredRow(walk.imports, walk.unchained);
  return uncovered ? breakText({ ...uncovered, file: null, line: null }) : null;
}

/** verify-chain with no --key: the public check alone. Returns the exit status. */
export async function verifyTree(files: string[], noteFile: SignedNoteFile, jwks: PublicJwk[], compactRangePath?: string): Promise<number> {
  const check = await checkTree(files, noteFile, jwks, compactRangePath, "alone");
  console.log(line("chain", check.valid ? "VALID" : "INVALID"));
  if (check.organizationId) console.log(line("organization", check.organizationId));
  for (const [label, text] of check.lines) console.log(line(label, text));
  return check.valid ? 0 : 1;
}
