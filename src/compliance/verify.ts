import { timingSafeEqualStrings } from "../crypto/constant-time";
import { verifyEd25519 } from "../crypto/ed25519";
import { hmacSha256Hex, importHmacKey } from "../crypto/hmac";
import { JsonSyntaxError, type JsonScan, type ScannedMember, scanJson } from "./json-scan";

/** A file that is not a signed report at all: the reason is safe to show (it never quotes the file). */
export class MalformedReport extends Error {}

export type SignedReportParts = {
  /** Exactly the text between the first `"report":` and the first `,"signature"`: what was signed. */
  reportBytes: string;
  /** The top-level report member, parsed. */
  report: Record<string, unknown>;
  organizationId: string;
  signature: string;
  attestation: { kid: string; value: string } | null;
  /** How the file breaks the strict-file rules of docs/protocol.md §7 (whatever its signatures say); null when it keeps them. */
  violation: string | null;
};

const REPORT_MARK = '"report":';
const SIGNATURE_MARK = ',"signature"';
const TOP_LEVELS = [["report", "signature"], ["report", "signature", "attestation"]];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function scan(text: string): JsonScan {
  try {
    return scanJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new MalformedReport(`the file is not valid JSON: ${err.message}`);
    throw err;
  }
}

/** The first occurrence only: a repeated name is a violation of its own, reported separately. */
function member(text: string, members: ScannedMember[], name: string): { value: unknown; at: ScannedMember } | null {
  const at = members.find((m) => m.name === name);
  // The scanner has validated the whole value, depth included, so JSON.parse cannot fail here.
  return at ? { value: JSON.parse(text.slice(at.valueStart, at.valueEnd)), at } : null;
}

function violationOf(scanned: JsonScan, members: ScannedMember[], reportAt: ScannedMember, signedSpan: { start: number; end: number }) {
  const names = members.map((m) => m.name);
  if (scanned.duplicate) {
    return `the member name ${JSON.stringify(scanned.duplicate.name)} appears twice in one object (again at position ${scanned.duplicate.at}); JSON readers disagree on which one counts`;
  }
  if (!TOP_LEVELS.some((allowed) => allowed.length === names.length && allowed.every((name, i) => name === names[i]))) {
    return `the top level must be exactly "report", "signature" and optionally "attestation", in that order; this file has ${names.map((n) => JSON.stringify(n)).join(", ")}`;
  }
  if (scanned.trailingAt !== null) return `text follows the closing brace of the file (at position ${scanned.trailingAt})`;
  if (signedSpan.start !== reportAt.valueStart || signedSpan.end !== reportAt.valueEnd) {
    return 'the bytes between the first "report": and the first ,"signature" are not exactly the report member';
  }
  return null;
}

/**
 * Reads a downloaded report strictly (docs/protocol.md §7): the signed bytes are found by the exact-bytes
 * rule, and a file whose JSON could be read as a different report than those bytes (repeated names
 * at any depth, other top-level members or order, text after the closing brace) is marked as a
 * violation. Throws MalformedReport when the file is not a signed report at all.
 */
export function readSignedReport(text: string): SignedReportParts {
  const scanned = scan(text);
  if (!scanned.topLevel) throw new MalformedReport("the file must be a JSON object");
  const report = member(text, scanned.topLevel, "report");
  if (!report) throw new MalformedReport('no "report" member');
  if (!isObject(report.value)) throw new MalformedReport("the report is not a JSON object");
  const organizationId = report.value.organization_id;
  if (typeof organizationId !== "string" || organizationId === "") throw new MalformedReport("the report has no organization_id");

  const signature = member(text, scanned.topLevel, "signature")?.value;
  if (signature === undefined) throw new MalformedReport('no "signature" member');
  if (!isObject(signature) || signature.algorithm !== "HMAC-SHA256") throw new MalformedReport('signature.algorithm must be "HMAC-SHA256"');
  if (typeof signature.value !== "string" || !/^[0-9a-f]{64}$/.test(signature.value)) {
    throw new MalformedReport("signature.value must be 64 lowercase hex characters");
  }
  let attestation: SignedReportParts["attestation"] = null;
  const a = member(text, scanned.topLevel, "attestation")?.value;
  if (a !== undefined) {
    if (!isObject(a) || a.algorithm !== "Ed25519" || typeof a.kid !== "string" || typeof a.value !== "string") {
      throw new MalformedReport('attestation must be {"algorithm":"Ed25519","kid":…,"value":…}');
    }
    attestation = { kid: a.kid, value: a.value };
  }

  const mark = text.indexOf(REPORT_MARK);
  const signedSpan = { start: mark + REPORT_MARK.length, end: text.indexOf(SIGNATURE_MARK, mark + REPORT_MARK.length) };
  // A signed report in another member order (signature first) has no signed span by the exact-bytes
  // rule: no bytes to check, and a verdict of not valid rather than "not a report".
  const spanned = mark >= 0 && signedSpan.end >= 0;
  return {
    reportBytes: spanned ? text.slice(signedSpan.start, signedSpan.end) : "",
    report: report.value,
    organizationId,
    signature: signature.value,
    attestation,
    violation:
      violationOf(scanned, scanned.topLevel, report.at, signedSpan) ?? (spanned ? null : 'the file has no "report": followed by ,"signature" (docs/protocol.md §7)'),
  };
}

export type ReportVerification = {
  valid: boolean;
  hmac_valid: boolean;
  /** null when the file carries no attestation, or when no public keys were given to check it (then valid is false). */
  attestation_valid: boolean | null;
  organization_id: string;
  reason: string | null;
};

export type AttestationPolicy = {
  /**
   * The published Ed25519 keys. Without them a present attestation cannot be checked, and the report
   * is not valid: its HMAC could have been re-made by an org_admin over a changed report.
   */
  publicKeys?: readonly { kid: string; x: string }[];
  /**
   * The issuer attests every report, so one without an attestation is not its own: the HMAC alone
   * proves only that someone holding the organization's verification key (an org_admin) made it.
   */
  required: boolean;
};

async function attestationProblem(parts: SignedReportParts, policy: AttestationPolicy): Promise<{ valid: boolean | null; reason: string | null }> {
  const { attestation } = parts;
  if (!attestation) {
    return { valid: null, reason: policy.required ? "the report has no attestation, and its issuer attests every report: the HMAC alone does not show who made it" : null };
  }
  if (!policy.publicKeys) {
    return { valid: null, reason: "the report carries an attestation that was not checked (no public keys given): the HMAC alone does not show who made it" };
  }
  const key = policy.publicKeys.find((k) => k.kid === attestation.kid);
  if (!key) return { valid: false, reason: `attestation key ${JSON.stringify(attestation.kid)} is not among the published keys` };
  if (!(await verifyEd25519(key, parts.reportBytes, attestation.value))) {
    return { valid: false, reason: "attestation signature does not verify over the report bytes" };
  }
  return { valid: true, reason: null };
}

/**
 * Checks the HMAC with the organization's verification key (its 64 ASCII characters are the key),
 * in constant time, and the attestation under `policy`. Only a file that also keeps the strict-file
 * rules is valid, and one that carries an attestation only when it was checked and verifies; the
 * first problem found is the reason.
 */
export async function verifySignedReport(parts: SignedReportParts, verificationKey: string, policy: AttestationPolicy): Promise<ReportVerification> {
  const expected = await hmacSha256Hex(await importHmacKey(verificationKey), parts.reportBytes);
  const hmacValid = timingSafeEqualStrings(expected, parts.signature);
  const attestation = await attestationProblem(parts, policy);
  const hmacReason = hmacValid ? null : "signature mismatch: the report bytes were altered, or the key is not this organization's verification key";
  const reason = parts.violation ?? hmacReason ?? attestation.reason;
  return {
    valid: parts.violation === null && hmacValid && attestation.reason === null,
    hmac_valid: hmacValid,
    attestation_valid: attestation.valid,
    organization_id: parts.organizationId,
    reason,
  };
}
