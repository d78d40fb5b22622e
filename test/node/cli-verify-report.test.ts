import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assembleReport, signReport } from "../../src/compliance/report";
import type { Service } from "../../src/compliance/store";
import { forgeReport, linesOf, prunedChainCoverage, run, signerWithJwks, slow, tempDir } from "./cli-helpers";

const { file, inDir } = tempDir();
const keys = signerWithJwks(file);

describe("verify-report", slow, () => {
  const KEY = "3f".repeat(32);
  const ORG = randomUUID();
  const service = (id: string, zones: string[], storage: string, storageEncrypted = true): Service => ({
    organizationId: ORG, id, name: `db ${id}`, databaseType: "postgresql", version: "16", status: "running", zones,
    storageRegion: storage, storageEncrypted, backupEncryptionEnabled: true, tlsEnabled: true, backupScheduleEnabled: true,
    backupScheduleCron: "0 3 * * *", backupRetentionDays: 14, createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z",
  });

  /** The body exactly as the Worker builds it: the project's own assembly and signing code. */
  async function reportBody(withAttestation = true) {
    const report = assembleReport({
      organization: { id: ORG, name: "Acme GmbH — Zürich & Köln", tier: "PROFESSIONAL" },
      generatedAt: "2026-03-01T12:00:00.000Z",
      services: [service("svc_b", ["gb-lon1"], "gb-lon1", false), service("svc_a", ["de-fra1", "nl-ams1"], "de-fra1")],
      lastBackups: new Map(),
      chain: prunedChainCoverage(ORG, "ab".repeat(32)),
      retentionEnforced: false,
      tailProtected: true,
      lastCheckpoint: null,
    });
    return (await signReport(report, KEY, withAttestation ? keys.signer : null)).body;
  }

  it("accepts the file as built, with its attestation checked against the JWKS", async () => {
    const body = await reportBody();
    expect(body.startsWith('{"report":{"organization_id":')).toBe(true);
    const path = await file("report.json", body);
    const res = await run("verify-report", path, "--key", KEY, "--jwks", keys.jwksPath);
    expect(res.stdout).toContain("report:       VALID");
    expect(res.stdout).toContain(`organization: ${ORG}`);
    expect(res.stdout).toContain(`attestation:  valid (kid ${keys.signer.kid})`);
    expect(res.code).toBe(0);
  });

  it("without --jwks an attested report is NOT VERIFIED (exit 1): its HMAC could be an org_admin's own", async () => {
    const path = await file("attested.json", await reportBody());
    const res = await run("verify-report", path, "--key", KEY);
    expect(res.code).toBe(1);
    const lines = linesOf(res.stdout);
    expect(lines[0]).toBe("report:       NOT VERIFIED");
    expect(lines).toContain("hmac:         valid");
    expect(lines).toContain(`attestation:  present (kid ${keys.signer.kid}), NOT CHECKED: pass --jwks FILE`);
    expect(res.stdout).toContain("reason:       the report carries an Ed25519 attestation, which could not be checked without the public keys: pass --jwks FILE (GET /.well-known/jwks.json)");
    expect(lines).not.toContain("report:       VALID");
  });

  it("an unattested report without --jwks is VALID on its HMAC, with a note on what that shows", async () => {
    const plain = await file("plain.json", await reportBody(false));
    const absent = await run("verify-report", plain, "--key", KEY);
    expect(absent.code).toBe(0);
    expect(linesOf(absent.stdout)[0]).toBe("report:       VALID");
    expect(absent.stdout).toContain("attestation:  absent");
    expect(absent.stdout).toContain("note:         the report carries no attestation: its HMAC shows only that a holder of the organization's verification key (any org_admin) made it");
    expect(absent.stdout).not.toContain("reason:");
  });

  it("a report an org_admin changed and re-signed with the verification key fails, its old attestation kept or dropped", async () => {
    const body = await reportBody();
    // svc_b's storage is not encrypted; the forger claims it is.
    const change: [string, string] = ['"storage_encrypted":false', '"storage_encrypted":true'];
    const kept = await file("forged-kept.json", forgeReport(body, KEY, change, "keep"));
    const dropped = await file("forged-dropped.json", forgeReport(body, KEY, change, "drop"));
    const [keptPlain, keptJwks, droppedPlain, droppedJwks] = await Promise.all([
      run("verify-report", kept, "--key", KEY),
      run("verify-report", kept, "--key", KEY, "--jwks", keys.jwksPath),
      run("verify-report", dropped, "--key", KEY),
      run("verify-report", dropped, "--key", KEY, "--jwks", keys.jwksPath),
    ]);
    // Every forgery has a valid HMAC: that is the point.
    for (const res of [keptPlain, keptJwks, droppedPlain, droppedJwks]) expect(res.stdout).toContain("hmac:         valid");

    expect(keptPlain.code).toBe(1);
    expect(linesOf(keptPlain.stdout)[0]).toBe("report:       NOT VERIFIED");
    expect(keptPlain.stdout).toContain("pass --jwks FILE");
    expect(keptJwks.code).toBe(1);
    expect(linesOf(keptJwks.stdout)[0]).toBe("report:       INVALID");
    expect(keptJwks.stdout).toContain(`attestation:  INVALID (kid ${keys.signer.kid})`);
    expect(keptJwks.stdout).toContain("reason:       attestation signature does not verify over the report bytes");

    expect(droppedJwks.code).toBe(1);
    expect(linesOf(droppedJwks.stdout)[0]).toBe("report:       INVALID");
    expect(droppedJwks.stdout).toContain("attestation:  ABSENT (required with --jwks)");
    // Without --jwks nothing can tell a dropped attestation from a deployment that issues none: VALID
    // on the HMAC, and the note says what that shows.
    expect(droppedPlain.code).toBe(0);
    expect(linesOf(droppedPlain.stdout)[0]).toBe("report:       VALID");
    expect(droppedPlain.stdout).toContain("attestation:  absent");
    expect(droppedPlain.stdout).toContain("note:         the report carries no attestation");
  });

  it("with --jwks the attestation is required: an HMAC-only report is invalid", async () => {
    const res = await run("verify-report", await file("unattested.json", await reportBody(false)), "--key", KEY, "--jwks", keys.jwksPath);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("report:       INVALID");
    expect(res.stdout).toContain("hmac:         valid");
    expect(res.stdout).toContain("attestation:  ABSENT (required with --jwks)");
    expect(res.stdout).toContain("reason:       the report has no attestation, and its issuer attests every report");
  });

  it("reads the file strictly: a second report after the signature, another member, trailing text, a repeated name", async () => {
    const body = await reportBody();
    const report = JSON.parse(body).report;
    const forged = JSON.stringify({ ...report, organization_name: "Forged GmbH" });
    const cases: [string, string][] = [
      [`${body.slice(0, -1)},"report":${forged}}`, `reason:       the member name "report" appears twice in one object (again at position ${body.length})`],
      [`${body.slice(0, -1)},"rep\\u006frt":${forged}}`, `reason:       the member name "report" appears twice in one object (again at position ${body.length})`],
      [`${body.slice(0, -1)},"note":1}`, 'reason:       the top level must be exactly "report", "signature" and optionally "attestation", in that order'],
      [`${body}\n{"report":${forged}}`, `reason:       text follows the closing brace of the file (at position ${body.length + 1})`],
    ];
    expect(JSON.parse(cases[0]![0]).report.organization_name).toBe("Forged GmbH");
    const results = await Promise.all(cases.map(async ([content], i) => run("verify-report", await file(`strict-${i}.json`, content), "--key", KEY, "--jwks", keys.jwksPath)));
    results.forEach((res, i) => {
      expect(res.stdout).toContain("report:       INVALID");
      expect(res.stdout).toContain("hmac:         valid");
      expect(res.stdout).toContain(cases[i]![1]);
      expect(res.code).toBe(1);
    });
    const deep = await run("verify-report", await file("deep.json", "[".repeat(100_000)), "--key", KEY);
    expect(deep.code).toBe(1);
    expect(deep.stdout).toContain("reason:       not a signed compliance report: the file is not valid JSON: nesting deeper than 64 levels at position 64");
  });

  it("rejects a single changed byte anywhere in the report, a wrong key, and a foreign attestation key", async () => {
    const body = await reportBody();
    const start = body.indexOf('"report":') + 9;
    const end = body.indexOf(',"signature"');
    const positions = [start, start + 25, Math.floor((start + end) / 2), end - 1];
    const results = await Promise.all(
      positions.map(async (at) => {
        const tampered = body.slice(0, at) + (body[at] === "0" ? "1" : "0") + body.slice(at + 1);
        return run("verify-report", await file(`tampered-${at}.json`, tampered), "--key", KEY);
      }),
    );
    for (const res of results) {
      expect(res.code).toBe(1);
      expect(res.stdout).toContain("report:       INVALID");
    }
    const reserialized = await run("verify-report", await file("pretty.json", JSON.stringify(JSON.parse(body), null, 2)), "--key", KEY);
    expect(reserialized.code).toBe(1);
    const path = await file("report2.json", body);
    const wrongKey = await run("verify-report", path, "--key", "3e".repeat(32));
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toContain("signature mismatch");
    const foreign = await run("verify-report", path, "--key", KEY, "--jwks", keys.otherJwksPath);
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toContain("hmac:         valid");
    expect(foreign.stdout).toContain("attestation:  INVALID");
    const garbage = await run("verify-report", await file("garbage.json", '{"hello":"world"}'), "--key", KEY);
    expect(garbage.code).toBe(1);
    expect(garbage.stdout).toContain('not a signed compliance report: no "report" member');
  });

  it("usage errors exit 2 with a clear message", async () => {
    const path = await file("report3.json", await reportBody());
    const missing = await run("verify-report", inDir("nope.json"), "--key", KEY);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read report ${inDir("nope.json")}: no such file`);
    const flag = await run("verify-report", path, "--key", KEY, "--frobnicate");
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--frobnicate'");
    const badKey = await run("verify-report", path, "--key", "not-a-key");
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain("64 lowercase hex characters");
    expect(badKey.stderr).not.toContain("not-a-key");
    expect((await run("verify-report", path)).code).toBe(2);
    expect((await run("verify-report", path, "--key", KEY, "--jwks", inDir("missing-jwks.json"))).code).toBe(2);
    expect((await run("frobnicate", path)).code).toBe(2);
    expect((await run("--help")).code).toBe(0);
  });
});
