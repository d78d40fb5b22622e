import { createHmac } from "node:crypto";
import type { RowHasher } from "../src/audit/chain/walker";
import { type Checkpoint, statementOf } from "../src/audit/chain/checkpoint-statement";
import { verifyEd25519 } from "../src/crypto/ed25519";
import type { Anchor } from "../src/audit/chain/anchor";
import { anchorForgery, archiveCheck, parseAnchor } from "./anchor";
import { breakText, type Found, type Pins, type Walk, walkFiles } from "./chain-walk";
import { type PublicJwk, readBytes, readJwks, requireFile, UsageError } from "./io";
import { readNoteFile, readSignedNote, type SignedNoteFile } from "./tree-head";
import { unprovenStart } from "./tree-walk";
import { checkTree, line } from "./verify-tree";

/** key_id(K) = hex(HMAC-SHA256(K, "chainproof key id"))[0..16] (docs/protocol.md §2), K = utf8(the key string). */
function keyring(keys: string[]) {
  const byId = new Map<string, Buffer>();
  for (const key of keys) {
    if (key === "") throw new UsageError("--key must not be empty");
    const bytes = Buffer.from(key, "utf8");
    byId.set(createHmac("sha256", bytes).update("chainproof key id").digest("hex").slice(0, 16), bytes);
  }
  const hasher: RowHasher = (keyId, message) => {
    const key = byId.get(keyId);
    return key ? createHmac("sha256", key).update(message, "utf8").digest("hex") : null;
  };
  return { ids: [...byId.keys()], hasher };
}

/**
 * --checkpoint with --key: a GET /api/v1/audit/checkpoints item, whose row_hmac pins the walk and
 * whose tree_head (when it has one) the public check uses, or a signed tree head alone.
 */
async function readCheckpoint(path: string): Promise<{ item: Checkpoint | null; note: SignedNoteFile | null }> {
  const file = await readNoteFile(path, "checkpoint");
  const c = file.json;
  if (c === null || !("statement" in c)) return { item: null, note: await readSignedNote(path, "checkpoint") };
  const ok =
    Number.isSafeInteger(c.seq) &&
    (c.seq as number) >= 1 &&
    ["organization_id", "row_hmac", "issued_at", "kind", "kid", "statement", "signature"].every((m) => typeof c[m] === "string");
  if (!ok) throw new UsageError(`checkpoint ${path} must be a checkpoint object as the API lists it (organization_id, seq, row_hmac, issued_at, kind, kid, statement, signature)`);
  return { item: c as unknown as Checkpoint, note: file.note === null ? null : (file as SignedNoteFile) };
}

/** docs/protocol.md §6: the statement must be the one its fields imply, signed by a key of the JWKS. */
async function checkpointSignature(c: Checkpoint, keys: PublicJwk[]): Promise<string | null> {
  if (statementOf(c) !== c.statement) return "its statement does not match its fields";
  const key = keys.find((k) => k.kid === c.kid);
  if (!key) return `its key ${c.kid} is not in the JWKS`;
  return (await verifyEd25519(key, c.statement, c.signature)) ? null : "its signature does not verify";
}

export type ChainOptions = { files: string[]; keys: string[]; checkpoint?: string; jwks?: string; anchors?: string[]; compactRange?: string };

/** Every --anchor must be chainproof's (its HMAC under a given key), or the answer is INVALID before any walk. */
async function authenticAnchors(paths: string[], hasher: RowHasher): Promise<Anchor[] | string> {
  const anchors: Anchor[] = [];
  for (const path of paths) {
    // An edited byte is a verdict on the evidence, not a usage error: it fails the HMAC, or the parse before it.
    const anchor = parseAnchor((await readBytes(path, "anchor")).toString("utf8"));
    if (typeof anchor === "string") return `${path} is not an anchor: ${anchor}`;
    const forgery = await anchorForgery(anchor, hasher);
    if (forgery) return `${path} ${forgery.unknownKey ? "cannot be checked" : "is not authentic"}: ${forgery.reason}`;
    anchors.push(anchor);
  }
  return anchors;
}

function pinsOf(checkpoint: Checkpoint | null, anchors: Anchor[]): Pins {
  const pins: Pins = { checkpoints: new Map(), anchors: new Map(), owners: [] };
  if (checkpoint) {
    pins.checkpoints.set(checkpoint.seq, [checkpoint.row_hmac]);
    pins.owners.push({ organizationId: checkpoint.organization_id, reason: "checkpoint mismatch (the checkpoint belongs to another organization)" });
  }
  for (const anchor of anchors) {
    const seq = anchor.pruned_through_seq;
    pins.anchors.set(seq, [...(pins.anchors.get(seq) ?? []), anchor.row_hmac]);
    pins.owners.push({ organizationId: anchor.organization_id, reason: `anchor mismatch (the anchor of seq ${seq} belongs to another organization)` });
  }
  return pins;
}

const seqRange = (first: number | null, last: number | null) => (last === null ? "no chained rows" : `seq ${first}–${last}`);

/**
 * A checkpoint speaks for every row up to its seq, but a walk that starts after seq 1 trusts its
 * first prev_hash: files cut at the front (their first lines deleted) would pass. Without the tree
 * check, which proves the rows before the files through their compact range, that is a break.
 */
function unprovenStartBreak(walk: Walk, several: boolean): Found | null {
  if (walk.first === null || walk.first.seq === 1) return null;
  const evidence = "give the files from seq 1, or the checkpoint's tree head with --jwks and --compact-range FILE";
  return { ...walk.first, reason: unprovenStart("the checkpoint", walk.first.seq, several, evidence) };
}

/** verify-chain: returns the exit status, 0 valid, 1 invalid. */
export async function verifyChain(options: ChainOptions): Promise<number> {
  const { ids, hasher } = keyring(options.keys);
  if (options.compactRange && !options.checkpoint) throw new UsageError("--compact-range needs a signed tree head: --checkpoint NOTE with --jwks FILE");
  for (const file of options.files) await requireFile(file, "chain file");
  const given = options.checkpoint ? await readCheckpoint(options.checkpoint) : null;
  const checkpoint = given?.item ?? null;
  const jwks = options.jwks ? await readJwks(options.jwks) : null;

  if (checkpoint && jwks) {
    const problem = await checkpointSignature(checkpoint, jwks);
    if (problem) {
      console.log("chain:        INVALID");
      console.log(`checkpoint:   seq ${checkpoint.seq} is not authentic: ${problem}`);
      return 1;
    }
  }
  const anchors = await authenticAnchors(options.anchors ?? [], hasher);
  if (typeof anchors === "string") {
    console.log("chain:        INVALID");
    console.log(`anchor:       ${anchors}`);
    return 1;
  }

  const walk = await walkFiles(options.files, hasher, pinsOf(checkpoint, anchors));
  const { firstSeq, lastSeq } = walk;
  const several = options.files.length > 1;
  let found = walk.found;
  if (!found && checkpoint && (lastSeq === null || checkpoint.seq > lastSeq)) {
    const subject = several ? "the files" : "the file";
    const ends = lastSeq === null ? `${subject} ${several ? "have" : "has"} no chained rows` : `${subject} ${several ? "end" : "ends"} at seq ${lastSeq}`;
    const reason = `checkpoint mismatch (${ends} but the signed checkpoint names seq ${checkpoint.seq}: the tail was cut)`;
    found = { id: null, seq: (lastSeq ?? checkpoint.seq - 1) + 1, reason, file: null, line: null };
  }
  // The public check runs first so that the verdict line says both; its lines follow the HMAC walk's.
  const tree = given?.note && jwks ? await checkTree(options.files, given.note, jwks, options.compactRange, "with the HMAC walk") : null;
  if (!found && given && !tree) found = unprovenStartBreak(walk, several);
  const anchorChecks = anchors.map((anchor) => ({ anchor, ...archiveCheck(anchor, walk) }));
  const valid = !found && anchorChecks.every((check) => check.ok);

  console.log(`chain:        ${valid && (tree?.valid ?? true) ? "VALID" : "INVALID"}`);
  if (walk.organizationId) console.log(`organization: ${walk.organizationId}`);
  if (several || walk.files.some((f) => f.gzip)) {
    for (const f of walk.files) {
      const unchained = f.unchained > 0 ? `, ${f.unchained} unchained` : "";
      const gzip = f.gzip ? ", gzip" : "";
      const rows = f.complete ? seqRange(f.firstSeq, f.lastSeq) : `${f.lastSeq === null ? "no chained row" : seqRange(f.firstSeq, f.lastSeq)} checked`;
      console.log(`file:         ${f.path}: ${rows}${unchained}${gzip}${f.complete ? "" : ", the walk stopped in this file"}`);
    }
  }
  console.log(`rows:         ${walk.checked} verified${lastSeq !== null ? ` (seq ${firstSeq}–${lastSeq})` : ""}, ${walk.unchained} unchained`);
  if (firstSeq !== null) {
    console.log(
      firstSeq === 1
        ? "start:        genesis (seq 1, prev_hash null)"
        : `start:        seq ${firstSeq}: its prev_hash is trusted as the starting link (a range export, or a chain after a prune)`,
    );
  }
  console.log(`keys:         ${ids.join(", ")}`);
  if (checkpoint) {
    const signature = jwks ? `signature valid (kid ${checkpoint.kid})` : "signature not checked: pass --jwks FILE";
    console.log(`checkpoint:   seq ${checkpoint.seq}, ${signature}`);
  }
  for (const { anchor, text } of anchorChecks) {
    console.log(`anchor:       seq ${anchor.pruned_through_seq}, hmac valid (key_id ${anchor.key_id}), ${text}`);
  }
  if (found) console.log(`first break:  ${breakText(found)}`);
  if (given?.note && !tree) console.log(line("tree head", "not checked: pass --jwks FILE"));
  // With --key the walk has said where the rows are; of the public check only its own verdict is new.
  for (const [label, text] of tree?.lines ?? []) if (label !== "rows" && label !== "start") console.log(line(label === "first break" ? "tree break" : label, text));
  return valid && (tree?.valid ?? true) ? 0 : 1;
}
