import { MalformedReport, readSignedReport, verifySignedReport } from "../src/compliance/verify";
import { readBytes, readJwks, UsageError } from "./io";

/**
 * verify-report FILE --key KEY [--jwks FILE]: the exact-bytes rule and the strict-file rules of
 * docs/protocol.md §7 over the file as it is on disk. The HMAC alone shows only that a holder of the
 * verification key (any org_admin) made the report, so the Ed25519 attestation decides: a report
 * that carries one is VALID only when --jwks was given and it verifies (without --jwks it is NOT
 * VERIFIED), and with --jwks a report without one is INVALID. Returns the exit status: 0 valid,
 * 1 invalid or not verified.
 */
export async function verifyReport(file: string, key: string, jwksPath: string | undefined): Promise<number> {
  if (!/^[0-9a-f]{64}$/.test(key)) {
    throw new UsageError("--key must be the organization's verification key: 64 lowercase hex characters");
  }
  const bytes = await readBytes(file, "report");
  const publicKeys = jwksPath ? await readJwks(jwksPath) : undefined;

  let parts;
  try {
    // Strict UTF-8 so that the text's bytes are exactly the file's bytes.
    parts = readSignedReport(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (err) {
    if (err instanceof TypeError) return invalid("the file is not UTF-8 text");
    if (err instanceof MalformedReport) return invalid(`not a signed compliance report: ${err.message}`);
    throw err;
  }
  const result = await verifySignedReport(parts, key, { publicKeys, required: publicKeys !== undefined });
  // Everything that could be checked holds, but the attestation, which alone shows who made the
  // report, could not be: not VALID (an org_admin can re-make the HMAC over a changed report).
  const unchecked = !result.valid && parts.violation === null && result.hmac_valid && parts.attestation !== null && !publicKeys;
  const generatedAt = parts.report.generated_at;
  const attestation = !parts.attestation
    ? publicKeys
      ? "ABSENT (required with --jwks)"
      : "absent"
    : result.attestation_valid === null
      ? `present (kid ${parts.attestation.kid}), NOT CHECKED: pass --jwks FILE`
      : `${result.attestation_valid ? "valid" : "INVALID"} (kid ${parts.attestation.kid})`;
  console.log(`report:       ${result.valid ? "VALID" : unchecked ? "NOT VERIFIED" : "INVALID"}`);
  console.log(`organization: ${result.organization_id}`);
  if (typeof generatedAt === "string") console.log(`generated at: ${generatedAt}`);
  console.log(`hmac:         ${result.hmac_valid ? "valid" : "INVALID"}`);
  console.log(`attestation:  ${attestation}`);
  if (unchecked) {
    console.log(`reason:       ${UNCHECKED_REASON}`);
  } else if (result.reason) {
    console.log(`reason:       ${result.reason}`);
  }
  if (result.valid && !parts.attestation) console.log(`note:         ${UNATTESTED_NOTE}`);
  return result.valid ? 0 : 1;
}

const UNCHECKED_REASON =
  "the report carries an Ed25519 attestation, which could not be checked without the public keys: " +
  "pass --jwks FILE (GET /.well-known/jwks.json). The HMAC alone shows only that a holder of the " +
  "organization's verification key (any org_admin) made the report";

const UNATTESTED_NOTE =
  "the report carries no attestation: its HMAC shows only that a holder of the organization's " +
  "verification key (any org_admin) made it, not that chainproof did. A deployment with a checkpoint " +
  "key attests every report; check such a report with --jwks FILE, which then requires the attestation";

function invalid(reason: string) {
  console.log("report:       INVALID");
  console.log(`reason:       ${reason}`);
  return 1;
}
