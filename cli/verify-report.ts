import { MalformedReport, readSignedReport, verifySignedReport } from "../src/compliance/verify";
import { readBytes, readJwks, UsageError } from "./io";

/**
 * verify-report FILE --key KEY [--jwks FILE]: the exact-bytes rule and the strict-file rules of
 * docs/protocol.md §7 over the file as it is on disk. With --jwks the attestation is required: the HMAC
 * alone shows only that a holder of the verification key made the report. Returns the exit
 * status: 0 valid, 1 invalid.
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
  const generatedAt = parts.report.generated_at;
  const attestation = !parts.attestation
    ? publicKeys
      ? "ABSENT (required with --jwks)"
      : "absent"
    : result.attestation_valid === null
      ? `present (kid ${parts.attestation.kid}), not checked: pass --jwks FILE`
      : `${result.attestation_valid ? "valid" : "INVALID"} (kid ${parts.attestation.kid})`;
  console.log(`report:       ${result.valid ? "VALID" : "INVALID"}`);
  console.log(`organization: ${result.organization_id}`);
  if (typeof generatedAt === "string") console.log(`generated at: ${generatedAt}`);
  console.log(`hmac:         ${result.hmac_valid ? "valid" : "INVALID"}`);
  console.log(`attestation:  ${attestation}`);
  if (result.reason) console.log(`reason:       ${result.reason}`);
  return result.valid ? 0 : 1;
}

function invalid(reason: string) {
  console.log("report:       INVALID");
  console.log(`reason:       ${reason}`);
  return 1;
}
