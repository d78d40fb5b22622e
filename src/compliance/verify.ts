import { timingSafeEqualStrings } from "../crypto/constant-time";
import { verifyEd25519 } from "../crypto/ed25519";
import { hmacSha256Hex, importHmacKey } from "../crypto/hmac";

/** A file that is not a signed report at all: the reason is safe to show (it never quotes the file). */
export class MalformedReport extends Error {}

export type SignedReportParts = {
  /** Exactly the text between the first `"report":` and the first `,"signature"`. */
  reportBytes: string;
  organizationId: string;
  signature: string;
  attestation: { kid: string; value: string } | null;
};

const REPORT_MARK = '"report":';
const SIGNATURE_MARK = ',"signature"';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new MalformedReport(`${what} is not valid JSON`);
  }
}

/** Splits a downloaded report by the exact-bytes rule of docs/protocol.md §7; parses only what it needs. */
export function splitSignedReport(text: string): SignedReportParts {
  const start = text.indexOf(REPORT_MARK);
  if (start < 0) throw new MalformedReport('no "report" member');
  if (text.slice(0, start).trim() !== "{") throw new MalformedReport('the file must be a JSON object whose first member is "report"');
  const from = start + REPORT_MARK.length;
  const end = text.indexOf(SIGNATURE_MARK, from);
  if (end < 0) throw new MalformedReport('no "signature" member after the report');
  const reportBytes = text.slice(from, end);

  const report = parse(reportBytes, "the report");
  if (!isObject(report)) throw new MalformedReport("the report is not a JSON object");
  if (typeof report.organization_id !== "string" || report.organization_id === "") {
    throw new MalformedReport("the report has no organization_id");
  }

  const rest = parse("{" + text.slice(end + 1), "the part after the report");
  if (!isObject(rest)) throw new MalformedReport("the part after the report is not a JSON object");
  const signature = rest.signature;
  if (!isObject(signature) || signature.algorithm !== "HMAC-SHA256") throw new MalformedReport('signature.algorithm must be "HMAC-SHA256"');
  if (typeof signature.value !== "string" || !/^[0-9a-f]{64}$/.test(signature.value)) {
    throw new MalformedReport("signature.value must be 64 lowercase hex characters");
  }
  let attestation: SignedReportParts["attestation"] = null;
  if (rest.attestation !== undefined) {
    const a = rest.attestation;
    if (!isObject(a) || a.algorithm !== "Ed25519" || typeof a.kid !== "string" || typeof a.value !== "string") {
      throw new MalformedReport('attestation must be {"algorithm":"Ed25519","kid":…,"value":…}');
    }
    attestation = { kid: a.kid, value: a.value };
  }
  return { reportBytes, organizationId: report.organization_id, signature: signature.value, attestation };
}

export type ReportVerification = {
  valid: boolean;
  hmac_valid: boolean;
  /** null when the file carries no attestation, or when no public keys were given to check it. */
  attestation_valid: boolean | null;
  organization_id: string;
  reason: string | null;
};

/**
 * Checks the HMAC with the organization's verification key (its 64 ASCII characters are the key),
 * in constant time, and the attestation against `publicKeys` when they are given.
 */
export async function verifySignedReport(
  parts: SignedReportParts,
  verificationKey: string,
  publicKeys?: readonly { kid: string; x: string }[],
): Promise<ReportVerification> {
  const expected = await hmacSha256Hex(await importHmacKey(verificationKey), parts.reportBytes);
  const hmacValid = timingSafeEqualStrings(expected, parts.signature);
  let attestationValid: boolean | null = null;
  let attestationReason: string | null = null;
  if (parts.attestation && publicKeys) {
    const key = publicKeys.find((k) => k.kid === parts.attestation!.kid);
    attestationValid = key !== undefined && (await verifyEd25519(key, parts.reportBytes, parts.attestation.value));
    if (!key) attestationReason = `attestation key ${JSON.stringify(parts.attestation.kid)} is not among the published keys`;
    else if (!attestationValid) attestationReason = "attestation signature does not verify over the report bytes";
  }
  const reason = !hmacValid
    ? "signature mismatch: the report bytes were altered, or the key is not this organization's verification key"
    : attestationReason;
  return {
    valid: hmacValid && attestationValid !== false,
    hmac_valid: hmacValid,
    attestation_valid: attestationValid,
    organization_id: parts.organizationId,
    reason,
  };
}
