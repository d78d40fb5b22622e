import { beforeAll, describe, expect, it } from "vitest";
import { api, appendBatch, createTenant, type Credentials, hmacHex, recordBody, reportKeyFromSpec, type Tenant } from "./helpers";
import { getReport, getVerificationKey, putService, reportBytesOf, serviceBody } from "./compliance-helpers";

// docs/protocol.md §7: a file verifies only when its top level is exactly report, signature and optionally
// attestation, in that order, each once, with nothing after them, and no object repeats a name.

let t: Tenant;
/** The genuine downloaded file. */
let file: string;
let reportBytes: string;
let signatureMember: string;
let attestationMember: string;
/** Derived here from REPORT_SIGNING_KEY as docs/protocol.md §7 says, not fetched from the server. */
let derivedKey: string;

const signatureOf = (value: string) => `"signature":{"algorithm":"HMAC-SHA256","value":"${value}"}`;

const verify = (as: Credentials, rawBody: string | Uint8Array) =>
  api("/api/v1/compliance/verify", { method: "POST", as, rawBody, headers: { "Content-Type": "application/json" } });

/** Everything but `reason`, which each case states exactly. */
const verdict = (valid: boolean, hmac_valid: boolean, attestation_valid: boolean | null) => ({
  valid, hmac_valid, attestation_valid, organization_id: t.org.id,
});

const duplicateReason = (name: string, at: number) =>
  `the member name ${JSON.stringify(name)} appears twice in one object (again at position ${at}); JSON readers disagree on which one counts`;
const orderReason = (...names: string[]) =>
  `the top level must be exactly "report", "signature" and optionally "attestation", in that order; this file has ${names.map((n) => `"${n}"`).join(", ")}`;
const NO_ATTESTATION = "the report has no attestation, and its issuer attests every report: the HMAC alone does not show who made it";

beforeAll(async () => {
  t = await createTenant();
  await putService(t.admin.as, t.org.id, "svc_eu", serviceBody());
  await appendBatch(t.ingest.as, [recordBody()]);
  file = (await getReport(t.member.as, t.org.id)).text;
  reportBytes = reportBytesOf(file);
  signatureMember = /"signature":\{[^}]*\}/.exec(file)![0];
  attestationMember = /"attestation":\{[^}]*\}/.exec(file)![0];
  derivedKey = await reportKeyFromSpec(t.org.id);
});

describe("POST /api/v1/compliance/verify reads the file strictly", () => {
  it("the key derived from docs/protocol.md §7 is the organization's verification key, and the genuine file verifies", async () => {
    expect((await getVerificationKey(t.admin.as, t.org.id)).json.key).toBe(derivedKey);
    expect(file).toBe(`{"report":${reportBytes},${signatureMember},${attestationMember}}`);
    expect((await verify(t.member.as, file)).json).toEqual({ ...verdict(true, true, true), reason: null });
    expect((await verify(t.member.as, `\n ${file} \r\n\t`)).json).toEqual({ ...verdict(true, true, true), reason: null });
  });

  it("the file's own bytes are judged: invalid UTF-8 or a byte-order mark is not a signed report (a lenient decoder would have read both as the genuine text)", async () => {
    const bytes = new TextEncoder().encode(file);
    const malformed = (message: string) => ({
      error: { code: "malformed_report", message: `Not a signed compliance report: ${message}`, details: [{ field: "body", message }] },
    });
    // A 0xFF byte inside the organization's name: a lenient decoder reads it as U+FFFD, which a genuine name may hold.
    const at = bytes.indexOf(0x22, new TextEncoder().encode(file.slice(0, file.indexOf('"organization_name":"') + 21)).length);
    const forged = new Uint8Array([...bytes.subarray(0, at), 0xff, ...bytes.subarray(at)]);
    expect(new TextDecoder().decode(forged)).toContain("\uFFFD");
    const res = await verify(t.member.as, forged);
    expect([res.status, res.json]).toEqual([422, malformed("the file is not UTF-8 text")]);
    const bom = await verify(t.member.as, new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]));
    expect(bom.status).toBe(422);
    expect(bom.json.error.code).toBe("malformed_report");
  });

  it("a second report appended after the signature is invalid, though every JSON parser reads the second one", async () => {
    const forged = JSON.stringify({ ...JSON.parse(reportBytes), organization_name: "Forged GmbH", service_count: 0, services: [] });
    for (const name of ['"report"', '"rep\\u006frt"', '"\\u0072eport"']) {
      const appended = `${file.slice(0, -1)},${name}:${forged}}`;
      expect(JSON.parse(appended).report.organization_name).toBe("Forged GmbH");
      const res = await verify(t.member.as, appended);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ ...verdict(false, true, true), reason: duplicateReason("report", file.length) });
    }
  });

  it("a member name repeated inside the report is invalid even when the HMAC verifies", async () => {
    const report = JSON.parse(reportBytes);
    const entryCount = `"entry_count":${report.audit_log.entry_count}`;
    const doubled = reportBytes.replace(entryCount, `"entry_count":0,${entryCount}`);
    expect(doubled).not.toBe(reportBytes);
    const res = await verify(t.member.as, `{"report":${doubled},${signatureOf(await hmacHex(derivedKey, doubled))},${attestationMember}}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ...verdict(false, true, false), reason: duplicateReason("entry_count", 10 + doubled.indexOf(entryCount)) });
  });

  it("top-level members out of order, or one more of them, are invalid", async () => {
    const attestationFirst = await verify(t.member.as, `{${attestationMember},"report":${reportBytes},${signatureMember}}`);
    expect(attestationFirst.status).toBe(200);
    expect(attestationFirst.json).toEqual({ ...verdict(false, true, true), reason: orderReason("attestation", "report", "signature") });

    // Signature first: no "report": is followed by ,"signature", so no bytes are signed by the exact-bytes rule.
    const signatureFirst = await verify(t.member.as, `{${signatureMember},"report":${reportBytes},${attestationMember}}`);
    expect(signatureFirst.status).toBe(200);
    expect(signatureFirst.json).toEqual({ ...verdict(false, false, false), reason: orderReason("signature", "report", "attestation") });

    const extra = await verify(t.member.as, `${file.slice(0, -1)},"approved_by":"the auditor"}`);
    expect(extra.json).toEqual({ ...verdict(false, true, true), reason: orderReason("report", "signature", "attestation", "approved_by") });
    const signatureTwice = await verify(t.member.as, `${file.slice(0, -1)},${signatureMember}}`);
    expect(signatureTwice.json).toEqual({ ...verdict(false, true, true), reason: duplicateReason("signature", file.length) });
  });

  it("anything but whitespace after the closing brace is invalid", async () => {
    for (const trailer of ["x", "}", ',"report":{}}', '\n{"report":{"organization_name":"Forged"}}']) {
      const res = await verify(t.member.as, file + trailer);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ ...verdict(false, true, true), reason: `text follows the closing brace of the file (at position ${file.length + trailer.search(/\S/)})` });
    }
  });

  it("the signed span must be exactly the report member: a nested \"signature\" name cannot shorten it", async () => {
    const report = JSON.parse(reportBytes);
    const sneaky = JSON.stringify({ ...report, services: [{ ...report.services[0], signature: "approved" }] });
    const res = await verify(t.member.as, `{"report":${sneaky},${signatureOf(await hmacHex(derivedKey, sneaky))}}`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      ...verdict(false, false, null),
      reason: 'the bytes between the first "report": and the first ,"signature" are not exactly the report member',
    });
  });

  it("a report without its attestation is invalid although its HMAC verifies", async () => {
    const stripped = `{"report":${reportBytes},${signatureMember}}`;
    const res = await verify(t.member.as, stripped);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ...verdict(false, true, null), reason: NO_ATTESTATION });
  });

  it("a report an org_admin made and signed with the verification key is invalid without a genuine attestation", async () => {
    const forged = JSON.stringify({ ...JSON.parse(reportBytes), all_services_eu_residency: true, service_count: 7 });
    const signature = signatureOf(await hmacHex(derivedKey, forged));
    const unattested = await verify(t.admin.as, `{"report":${forged},${signature}}`);
    expect(unattested.json).toEqual({ ...verdict(false, true, null), reason: NO_ATTESTATION });

    const kid = JSON.parse(file).attestation.kid as string;
    const garbage = `"attestation":{"algorithm":"Ed25519","kid":"${kid}","value":"${"A".repeat(86)}"}`;
    for (const attestation of [garbage, attestationMember]) {
      const res = await verify(t.admin.as, `{"report":${forged},${signature},${attestation}}`);
      expect(res.json).toEqual({ ...verdict(false, true, false), reason: "attestation signature does not verify over the report bytes" });
    }
  });

  it("nesting deeper than 64 levels is refused with a reason, never a 5xx", async () => {
    const padded = (depth: number) =>
      reportBytes.replace('"services":', `"padding":${"[".repeat(depth)}${"]".repeat(depth)},"services":`);
    // Far too deep: the request guard refuses it before the reader runs.
    const hostile = await verify(t.member.as, `{"report":${padded(100_000)},${signatureMember},${attestationMember}}`);
    expect(hostile.status).toBe(422);
    expect(hostile.json.error.code).toBe("validation_error");
    const deep = padded(63);
    const res = await verify(t.member.as, `{"report":${deep},${signatureMember},${attestationMember}}`);
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe("malformed_report");
    // The file and the report object are two levels; the 63rd bracket is the 65th level.
    const at = '{"report":'.length + deep.indexOf('"padding":') + '"padding":'.length + 62;
    expect(res.json.error.details[0]).toEqual({ field: "body", message: `the file is not valid JSON: nesting deeper than 64 levels at position ${at}` });
  });
});
