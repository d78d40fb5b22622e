import { parseArgs } from "node:util";
import { UsageError } from "./io";
import { verifyChain } from "./verify-chain";
import { verifyReport } from "./verify-report";

const SYNOPSIS = `usage:
  chainproof verify-report FILE --key KEY [--jwks FILE]
  chainproof verify-chain FILE… --key KEY [--key KEY …] [--checkpoint FILE] [--anchor FILE …] [--jwks FILE]`;

const USAGE = `${SYNOPSIS}

verify-report   checks a downloaded compliance report: HMAC-SHA256 over the exact bytes between the
                first "report": and the first ,"signature" of the file, keyed with the organization's
                verification key (--key: its 64 hex characters, from
                GET /api/v1/organizations/{orgId}/compliance-report/verification-key). The file must
                be strict: top level exactly "report", "signature" and optionally "attestation", in
                that order, nothing after the closing brace, no member name repeated in any object.
                With --jwks the Ed25519 attestation is REQUIRED and checked: a report without one is
                invalid, since anyone holding the verification key (an org_admin) can make the HMAC.
verify-chain    walks audit-log exports and archives (JSONL: one record per line, in seq order;
                gzipped files, e.g. archives, are read as they are) and names the first broken
                link. Several files are ONE chain in the order given: archives oldest first, then
                the live export. --key takes the raw AUDIT_HMAC_KEY strings, current and retired
                (repeat it); --checkpoint a signed checkpoint (an item of
                GET /api/v1/audit/checkpoints) that the files must reach with the same row_hmac.
--anchor FILE   a prune anchor (the "anchor" of an item of GET /api/v1/audit/archives; repeat it):
                its anchor_hmac must verify under one of the --keys, the row at its
                pruned_through_seq must carry its row_hmac, and its archive must be among the
                files: the file ending at that seq must have the anchor's archive_sha256.
--jwks FILE     the public keys as served at /.well-known/jwks.json; checks signatures.

exit status: 0 valid, 1 invalid, 2 usage error. Nothing is sent over the network.`;

const OPTIONS = {
  key: { type: "string", multiple: true },
  jwks: { type: "string" },
  checkpoint: { type: "string" },
  anchor: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

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
  if (command !== "verify-report" && command !== "verify-chain") throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (files.length === 0) throw new UsageError(`${command} needs a FILE`);
  const keys = values.key ?? [];
  if (keys.length === 0) throw new UsageError(`${command} needs --key`);

  if (command === "verify-report") {
    if (files.length > 1) throw new UsageError("verify-report takes one FILE (give each key with its own --key)");
    if (keys.length > 1) throw new UsageError("verify-report takes one --key");
    if (values.checkpoint !== undefined) throw new UsageError("--checkpoint belongs to verify-chain");
    if (values.anchor !== undefined) throw new UsageError("--anchor belongs to verify-chain");
    return verifyReport(files[0]!, keys[0]!, values.jwks);
  }
  return verifyChain({ files, keys, checkpoint: values.checkpoint, anchors: values.anchor, jwks: values.jwks });
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
