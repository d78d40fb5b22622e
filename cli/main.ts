import { parseArgs } from "node:util";
import { readJwks, requireFile, UsageError } from "./io";
import { readSignedNote } from "./tree-head";
import { verifyChain } from "./verify-chain";
import { verifyProof } from "./verify-proof";
import { verifyReceipt } from "./verify-receipt";
import { verifyReport } from "./verify-report";
import { verifyTree } from "./verify-tree";

const SYNOPSIS = `usage:
  chainproof verify-report FILE --key KEY [--jwks FILE]
  chainproof verify-chain FILE… --key KEY [--key KEY …] [--checkpoint FILE] [--anchor FILE …] [--jwks FILE] [--compact-range FILE]
  chainproof verify-chain FILE… --checkpoint NOTE --jwks FILE [--compact-range FILE]
  chainproof verify-proof FILE --jwks FILE [--record FILE | --first-checkpoint NOTE]
  chainproof verify-receipt RECEIPT --jwks FILE [--record FILE …]`;

const USAGE = `${SYNOPSIS}

verify-report   checks a downloaded compliance report: HMAC-SHA256 over the exact bytes between the
                first "report": and the first ,"signature" of the file, keyed with the organization's
                verification key (--key: its 64 hex characters, from
                GET /api/v1/organizations/{orgId}/compliance-report/verification-key). The file must
                be strict: top level exactly "report", "signature" and optionally "attestation", in
                that order, nothing after the closing brace, no member name repeated in any object.
                Anyone holding the verification key (any org_admin) can make the HMAC, so the
                Ed25519 attestation decides who made the report: pass --jwks FILE (the public keys,
                GET /.well-known/jwks.json). With --jwks the attestation is REQUIRED and checked: a
                report without one, or whose attestation does not verify, is INVALID. Without
                --jwks a report that carries an attestation is NOT VERIFIED (exit 1); one without
                an attestation is VALID on its HMAC alone, with a note saying what that shows.
verify-chain    walks audit-log exports and archives (JSONL: one record per line, in seq order;
                gzipped files, e.g. archives, are read as they are) and names the first broken
                link. Several files are ONE chain in the order given: archives oldest first, then
                the live export. --key takes the raw AUDIT_HMAC_KEY strings, current and retired
                (repeat it); --checkpoint a signed checkpoint (an item of
                GET /api/v1/audit/checkpoints) that the files must reach with the same row_hmac.
                With no --key it is the PUBLIC check, no secret needed: --checkpoint NOTE is a
                signed tree head (a note file, the answer of GET /api/v1/audit/tree-head, a
                checkpoints item with its tree_head, or a saved inclusion proof answer, whose
                hashes then point at the first record that differs), verified with --jwks; every
                chained row's leaf is recomputed and the leaves must give the head's root at its
                size, each prev_hash must be the row_hmac before it, the unchained rows must be
                covered by import records in the tree, and a row after the head's size is
                INVALID (nothing signed covers it). With --key too, both checks run. Every line must be one record (no blank
                line, no member name written twice), each record id once, at least one record
                in each file.
--anchor FILE   a prune anchor (the "anchor" of an item of GET /api/v1/audit/archives; repeat it):
                its anchor_hmac must verify under one of the --keys, the row at its
                pruned_through_seq must carry its row_hmac, and its archive must be among the
                files: the file ending at that seq must have the anchor's archive_sha256.
--compact-range FILE
                for files that start at seq S > 1: {"tree_size": S-1, "hashes": [hex…]}, the roots
                of the complete subtrees of the first S-1 leaves, largest first (the compact_range
                an export or archive carries). With --checkpoint, files that start after seq 1
                are INVALID without it: nothing else proves the rows before them.
--jwks FILE     the public keys as served at /.well-known/jwks.json; checks signatures.
verify-proof    checks a saved answer of GET /api/v1/audit/logs/{id}/proof (its tree head's
                signature, origin and size, and the RFC 9162 inclusion proof; --record FILE, the
                record as the API answers it or its JSONL line, must be the leaf proven) or of
                GET /api/v1/audit/proofs/consistency (--first-checkpoint NOTE, the signed tree head
                of size "first", is required: the newer tree must extend it).
verify-receipt  checks a Chainproof-Receipt header value (saved to a file, or its decoded JSON): the
                Ed25519 signature by the JWKS key "kid"; with --record (the records: JSON, a JSON
                array, the append's answer {"records":[…]}, or JSONL) every member it states:
                organization_id, first_seq, last_seq, recorded_at and leaves_sha256.

exit status: 0 valid, 1 invalid (or, for verify-report, not verified), 2 usage error. Nothing is sent over the network.`;

const OPTIONS = {
  key: { type: "string", multiple: true },
  jwks: { type: "string" },
  checkpoint: { type: "string" },
  anchor: { type: "string", multiple: true },
  "compact-range": { type: "string" },
  record: { type: "string", multiple: true },
  "first-checkpoint": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Option = Exclude<keyof typeof OPTIONS, "help">;

/** The options each command takes: any other is a usage error, never silently ignored. */
const ACCEPTS: Record<string, readonly Option[]> = {
  "verify-report": ["key", "jwks"],
  "verify-chain": ["key", "jwks", "checkpoint", "anchor", "compact-range"],
  "verify-proof": ["jwks", "record", "first-checkpoint"],
  "verify-receipt": ["jwks", "record"],
};

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...files] = positionals;
  if (!command) throw new UsageError("no command given");
  const accepted = ACCEPTS[command];
  if (!accepted) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const stray = (Object.keys(values) as Option[]).find((o) => !accepted.includes(o));
  if (stray) {
    const owners = Object.keys(ACCEPTS).filter((c) => ACCEPTS[c]!.includes(stray));
    throw new UsageError(`--${stray} belongs to ${owners.join(" and ")}`);
  }
  if (files.length === 0) throw new UsageError(`${command} needs a FILE`);
  const keys = values.key ?? [];

  if (command === "verify-report") {
    if (keys.length === 0) throw new UsageError("verify-report needs --key");
    if (files.length > 1) throw new UsageError("verify-report takes one FILE (give each key with its own --key)");
    if (keys.length > 1) throw new UsageError("verify-report takes one --key");
    return verifyReport(files[0]!, keys[0]!, values.jwks);
  }
  if (command === "verify-chain") return chain(files, keys, values);
  if (files.length > 1) throw new UsageError(`${command} takes one FILE`);
  if (!values.jwks) throw new UsageError(`${command} needs --jwks FILE (the public keys, /.well-known/jwks.json)`);
  if (command === "verify-proof") {
    if ((values.record?.length ?? 0) > 1) throw new UsageError("verify-proof takes one --record");
    return verifyProof({ file: files[0]!, jwks: values.jwks, record: values.record?.[0], firstCheckpoint: values["first-checkpoint"] });
  }
  return verifyReceipt({ file: files[0]!, jwks: values.jwks, records: values.record ?? [] });
}

async function chain(files: string[], keys: string[], values: ReturnType<typeof parse>["values"]) {
  const compactRange = values["compact-range"];
  if (keys.length > 0) return verifyChain({ files, keys, checkpoint: values.checkpoint, anchors: values.anchor, jwks: values.jwks, compactRange });
  if (!values.checkpoint || !values.jwks) throw new UsageError("verify-chain needs --key, or --checkpoint NOTE with --jwks FILE for the public check");
  if (values.anchor) throw new UsageError("--anchor needs --key (an anchor is sealed with the audit key)");
  for (const file of files) await requireFile(file, "chain file");
  const jwks = await readJwks(values.jwks);
  return verifyTree(files, await readSignedNote(values.checkpoint, "checkpoint"), jwks, compactRange);
}

/** The CLI: returns the exit status. Messages never echo a key. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`chainproof: ${err.message}\n\n${SYNOPSIS}\n(chainproof --help explains them)`);
      return 2;
    }
    console.error(`chainproof: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
