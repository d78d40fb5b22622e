import { beforeAll, describe, expect, it } from "vitest";
import { api, appendBatch, chainRows, createTenant, type Credentials, getSuperAdmin, recordBody, reportKeyFromSpec, sha256Hex, type Tenant, utf8 } from "./helpers";
import {
  flipReportByte,
  getReport,
  getVerificationKey,
  postBackup,
  putService,
  reportBytesOf,
  serviceBody,
  thirdPartyVerify,
} from "./compliance-helpers";

let a: Tenant;
let b: Tenant;
/** Derived here as docs/protocol.md §7 says: a report the server signed with a wrong key must not pass. */
let keyA: string;
let keyB: string;

const fromB64Url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

beforeAll(async () => {
  [a, b] = await Promise.all([createTenant("PROFESSIONAL"), createTenant("STARTER")]);
  await putService(a.admin.as, a.org.id, "svc_b_eu", serviceBody({ name: "billing", zones: ["fr-par1"], storage_region: "fr-par1" }));
  await putService(a.ingest.as, a.org.id, "svc_a_eu", serviceBody());
  await postBackup(a.ingest.as, a.org.id, "svc_a_eu", { completed_at: "2026-01-02T03:00:00.000Z", type: "full" });
  await postBackup(a.ingest.as, a.org.id, "svc_a_eu", { completed_at: "2026-01-03T03:00:00.000Z", type: "incremental", encryption_algorithm: "ChaCha20-Poly1305" });
  await postBackup(a.ingest.as, a.org.id, "svc_a_eu", { completed_at: "2026-01-01T03:00:00.000Z", type: "snapshot" });
  await appendBatch(a.ingest.as, [recordBody(), recordBody()]);
  [keyA, keyB] = await Promise.all([reportKeyFromSpec(a.org.id), reportKeyFromSpec(b.org.id)]);
});

describe("the signed report", () => {
  it("a third-party verifier accepts the raw body fetched with Basic credentials", async () => {
    const res = await getReport(a.member.as, a.org.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(keyA).toMatch(/^[0-9a-f]{64}$/);
    expect(await thirdPartyVerify(res.text, keyA)).toBe(true);
    // Compact, report first, exactly the documented envelope.
    expect(res.text.startsWith('{"report":{"organization_id":')).toBe(true);
    expect(res.text).toMatch(/,"signature":\{"algorithm":"HMAC-SHA256","value":"[0-9a-f]{64}"\},"attestation":\{"algorithm":"Ed25519","kid":"[^"]+","value":"[A-Za-z0-9_-]+"\}\}$/);
    expect(reportBytesOf(res.text)).toBe(JSON.stringify(res.json.report));
    expect(Object.keys(res.json)).toEqual(["report", "signature", "attestation"]);
  });

  it("flipping any single byte of the report bytes breaks the signature", async () => {
    const res = await getReport(a.member.as, a.org.id);
    const length = reportBytesOf(res.text).length;
    const positions = [0, 1, 20, Math.floor(length / 3), Math.floor(length / 2), length - 40, length - 2, length - 1];
    for (const at of positions) {
      const tampered = flipReportByte(res.text, at);
      expect(tampered).not.toBe(res.text);
      expect(await thirdPartyVerify(tampered, keyA)).toBe(false);
    }
  });

  it("one organization's key neither verifies nor forges another's report", async () => {
    const res = await getReport(a.member.as, a.org.id);
    expect(keyB).not.toBe(keyA);
    expect(await thirdPartyVerify(res.text, keyB)).toBe(false);
    expect(await thirdPartyVerify((await getReport(b.member.as, b.org.id)).text, keyB)).toBe(true);
  });

  it("the attestation verifies with the public JWKS alone", async () => {
    const res = await getReport(a.member.as, a.org.id);
    const jwks = (await api("/.well-known/jwks.json")).json.keys as { kid: string; x: string }[];
    const jwk = jwks.find((k) => k.kid === res.json.attestation.kid)!;
    expect(jwk).toBeDefined();
    const pub = await crypto.subtle.importKey("raw", fromB64Url(jwk.x), { name: "Ed25519" }, false, ["verify"]);
    const bytes = utf8(reportBytesOf(res.text));
    expect(await crypto.subtle.verify({ name: "Ed25519" }, pub, fromB64Url(res.json.attestation.value), bytes)).toBe(true);
    const tampered = utf8(reportBytesOf(flipReportByte(res.text, 30)));
    expect(await crypto.subtle.verify({ name: "Ed25519" }, pub, fromB64Url(res.json.attestation.value), tampered)).toBe(false);
  });

  it("has exactly the documented members, in order, built from the live records", async () => {
    const { report } = (await getReport(a.member.as, a.org.id)).json;
    expect(Object.keys(report)).toEqual([
      "organization_id", "organization_name", "generated_at", "service_count", "all_services_eu_residency", "services", "audit_log",
    ]);
    expect(report).toMatchObject({ organization_id: a.org.id, organization_name: a.org.name, service_count: 2, all_services_eu_residency: true });
    expect(report.generated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(report.services.map((s: { service_id: string }) => s.service_id)).toEqual(["svc_a_eu", "svc_b_eu"]);
    const [first, second] = report.services;
    expect(Object.keys(first)).toEqual([
      "service_id", "name", "database_type", "version", "status", "zones", "region", "eu_residency", "storage_region",
      "storage_encrypted", "backup_encryption_enabled", "tls_enabled", "backups",
    ]);
    expect(Object.keys(first.backups)).toEqual([
      "last_completed_at", "last_backup_type", "encryption_enabled", "encryption_algorithm", "schedule_enabled", "schedule_cron", "retention_days",
    ]);
    expect(first).toMatchObject({ zones: ["de-fra1", "nl-ams1"], region: "europe", eu_residency: true, storage_region: "de-fra1", tls_enabled: true });
    // The newest backup by completion, whatever the order it was recorded in.
    expect(first.backups).toEqual({
      last_completed_at: "2026-01-03T03:00:00.000Z",
      last_backup_type: "incremental",
      encryption_enabled: true,
      encryption_algorithm: "ChaCha20-Poly1305",
      schedule_enabled: true,
      schedule_cron: "0 3 * * *",
      retention_days: 30,
    });
    expect(second.backups).toMatchObject({ last_completed_at: null, last_backup_type: null, encryption_enabled: null, encryption_algorithm: null });

    expect(Object.keys(report.audit_log).slice(0, 3)).toEqual(["retention_policy", "oldest_entry_at", "entry_count"]);
    const rows = await chainRows(a.org.id);
    const covered = rows.filter((r) => r.seq <= report.audit_log.head_seq);
    expect(report.audit_log).toMatchObject({
      retention_policy: "90 days",
      oldest_entry_at: rows[0]!.recorded_at,
      entry_count: covered.length,
      first_seq: 1,
      head_row_hmac: covered.at(-1)!.row_hmac,
      unchained_count: 0,
      retention_enforced: false,
    });
    expect(JSON.stringify(report)).not.toContain('"signature"');
  });

  it("names the retention policy by tier and the newest signed checkpoint", async () => {
    const { report } = (await getReport(b.member.as, b.org.id)).json;
    expect(report.audit_log.retention_policy).toBe("30 days");
    const unlimited = await createTenant("UNLIMITED");
    const empty = (await getReport(unlimited.member.as, unlimited.org.id)).json.report;
    expect(empty).toMatchObject({ service_count: 0, services: [], all_services_eu_residency: true });
    expect(empty.audit_log).toMatchObject({ retention_policy: "Unlimited", oldest_entry_at: null, entry_count: 0, head_seq: null, last_checkpoint: null });

    const sa = (await getSuperAdmin()).as;
    const checkpoint = await api("/api/v1/audit/checkpoints", { method: "POST", as: sa, body: { organization_id: a.org.id } });
    expect(checkpoint.status).toBe(201);
    const after = (await getReport(a.member.as, a.org.id)).json.report;
    expect(after.audit_log.last_checkpoint).toEqual({
      seq: checkpoint.json.seq,
      row_hmac: checkpoint.json.row_hmac,
      issued_at: checkpoint.json.issued_at,
      kid: checkpoint.json.kid,
    });
  });

  it("a service outside the EU (UK, Switzerland, Norway — zone or storage) clears residency for it and for the whole report", async () => {
    for (const [zones, storage] of [[["de-fra1", "gb-lon1"], "de-fra1"], [["ch-zrh1"], "ch-zrh1"], [["de-fra1"], "no-osl1"]] as const) {
      const t = await createTenant();
      await putService(t.admin.as, t.org.id, "svc_eu", serviceBody());
      await putService(t.admin.as, t.org.id, "svc_other", serviceBody({ zones, storage_region: storage }));
      const raw = await getReport(t.member.as, t.org.id);
      const { report } = raw.json;
      expect(report.all_services_eu_residency).toBe(false);
      expect(report.services.map((s: { service_id: string; eu_residency: boolean }) => [s.service_id, s.eu_residency])).toEqual([
        ["svc_eu", true],
        ["svc_other", false],
      ]);
      expect(await thirdPartyVerify(raw.text, await reportKeyFromSpec(t.org.id))).toBe(true);
    }
  });

  it("a name that imitates the envelope cannot move the markers", async () => {
    const t = await createTenant();
    await putService(t.admin.as, t.org.id, "svc_sneaky", serviceBody({ name: '","signature":{"algorithm":"HMAC-SHA256","value":"' }));
    const raw = await getReport(t.member.as, t.org.id);
    expect(raw.status).toBe(200);
    expect(await thirdPartyVerify(raw.text, await reportKeyFromSpec(t.org.id))).toBe(true);
    expect(reportBytesOf(raw.text)).toBe(JSON.stringify(raw.json.report));
  });

  it("each generation is audited as report_generate, naming the SHA-256 of the report bytes", async () => {
    const res = await getReport(a.member.as, a.org.id);
    const record = (await chainRows(a.org.id)).filter((r) => r.action === "report_generate").at(-1)!;
    expect(record).toMatchObject({ resource_type: "report", actor_id: a.member.user.id, status: "success" });
    expect(JSON.parse(record.metadata)).toMatchObject({
      generated_at: res.json.report.generated_at,
      report_sha256: await sha256Hex(utf8(reportBytesOf(res.text))),
      service_count: 2,
    });
    expect(record.seq).toBeGreaterThan(res.json.report.audit_log.head_seq);
  });
});

describe("who may get a report or its key", () => {
  it("any member of the organization and super_admin; ingest 403; another organization 404", async () => {
    const sa = (await getSuperAdmin()).as;
    for (const as of [a.member.as, a.admin.as, a.adminToken.as, sa]) expect((await getReport(as, a.org.id)).status).toBe(200);
    expect((await getReport(a.ingest.as, a.org.id)).status).toBe(403);
    for (const as of [b.member.as, b.admin.as, b.ingest.as]) {
      const res = await getReport(as, a.org.id);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain(a.org.name);
    }
    expect((await getReport(a.member.as, crypto.randomUUID())).status).toBe(404);
    expect((await getReport(null, a.org.id)).status).toBe(401);
  });

  it("is also served at /organizations/{orgId}/compliance-report, with the same credentials and rules", async () => {
    const res = await api(`/organizations/${a.org.id}/compliance-report`, { as: a.member.as });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(await thirdPartyVerify(res.text, keyA)).toBe(true);
    expect((await api(`/organizations/${a.org.id}/compliance-report`)).status).toBe(401);
    expect((await api(`/organizations/${a.org.id}/compliance-report`, { as: b.member.as })).status).toBe(404);
    expect((await api(`/organizations/${a.org.id}/compliance-report`, { as: a.ingest.as })).status).toBe(403);
  });

  it("the verification key is org_admin's: member 403, ingest 403, another organization 404", async () => {
    const sa = (await getSuperAdmin()).as;
    const res = await getVerificationKey(a.admin.as, a.org.id);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ algorithm: "HMAC-SHA256", key: keyA });
    expect((await getVerificationKey(sa, a.org.id)).json.key).toBe(keyA);
    expect((await getVerificationKey(a.member.as, a.org.id)).status).toBe(403);
    expect((await getVerificationKey(a.ingest.as, a.org.id)).status).toBe(403);
    expect((await getVerificationKey(b.admin.as, a.org.id)).status).toBe(404);
  });
});

describe("POST /api/v1/compliance/verify", () => {
  const verify = (as: Credentials, rawBody: string) =>
    api("/api/v1/compliance/verify", { method: "POST", as, rawBody, headers: { "Content-Type": "application/json" } });

  it("says valid for the downloaded file, byte for byte", async () => {
    const file = (await getReport(a.member.as, a.org.id)).text;
    const res = await verify(a.member.as, file);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ valid: true, hmac_valid: true, attestation_valid: true, organization_id: a.org.id, reason: null });
    expect((await verify((await getSuperAdmin()).as, file)).json.valid).toBe(true);
  });

  it("says invalid, with a reason, for a tampered file or a tampered attestation", async () => {
    const file = (await getReport(a.member.as, a.org.id)).text;
    const tampered = file.replace('"service_count":2', '"service_count":3');
    expect(tampered).not.toBe(file);
    const res = await verify(a.member.as, tampered);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ valid: false, hmac_valid: false, attestation_valid: false, organization_id: a.org.id });
    expect(res.json.reason).toContain("signature mismatch");

    const value = JSON.parse(file).attestation.value as string;
    const otherSig = value.slice(0, 10) + (value[10] === "A" ? "B" : "A") + value.slice(11);
    const badAttestation = await verify(a.member.as, file.replace(value, otherSig));
    expect(badAttestation.json).toMatchObject({ valid: false, hmac_valid: true, attestation_valid: false });

    // This deployment attests every report, so one without an attestation is not its own.
    const withoutAttestation = file.replace(/,"attestation":\{[^}]*\}\}$/, "}");
    expect((await verify(a.member.as, withoutAttestation)).json).toMatchObject({ valid: false, hmac_valid: true, attestation_valid: null });
    // Re-serializing changes nothing here (compact JSON), but whitespace inside the report does.
    const spaced = file.replace('"service_count":2,', '"service_count": 2,');
    expect((await verify(a.member.as, spaced)).json.valid).toBe(false);
  });

  it("a report of an organization the caller may not see is a 404; ingest is 403; garbage is a 422", async () => {
    const file = (await getReport(a.member.as, a.org.id)).text;
    expect((await verify(b.member.as, file)).status).toBe(404);
    expect((await verify(a.ingest.as, file)).status).toBe(403);
    for (const garbage of ["{}", "not json", '{"report":{"x":1},"signature":{"algorithm":"HMAC-SHA256","value":"00"}}', '{"report":{"organization_id":"x"}}']) {
      const res = await verify(a.member.as, garbage);
      expect(res.status).toBe(422);
      expect(res.json.error.code).toBe("malformed_report");
      expect(res.json.error.details[0].field).toBe("body");
    }
  });
});
