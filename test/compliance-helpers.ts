import { api, type Credentials, hmacHex, utf8 } from "./helpers";

/** A valid service body as a platform would send it; EU-only unless overridden. */
export const serviceBody = (overrides: Record<string, unknown> = {}) => ({
  name: "orders-db",
  database_type: "postgresql",
  version: "16.4",
  status: "running",
  zones: ["de-fra1", "nl-ams1"],
  storage_region: "de-fra1",
  storage_encrypted: true,
  backup_encryption_enabled: true,
  tls_enabled: true,
  backup_policy: { schedule_enabled: true, schedule_cron: "0 3 * * *", retention_days: 30 },
  ...overrides,
});

export const putService = (as: Credentials, orgId: string, serviceId: string, body: unknown = serviceBody()) =>
  api(`/api/v1/organizations/${orgId}/services/${serviceId}`, { method: "PUT", as, body });

export const postBackup = (as: Credentials, orgId: string, serviceId: string, body: Record<string, unknown> = {}) =>
  api(`/api/v1/organizations/${orgId}/services/${serviceId}/backups`, {
    method: "POST",
    as,
    body: { completed_at: "2026-01-10T03:00:00Z", type: "full", encryption_enabled: true, encryption_algorithm: "AES-256-GCM", ...body },
  });

export const getReport = (as: Credentials, orgId: string) => api(`/api/v1/organizations/${orgId}/compliance-report`, { as });

export const getVerificationKey = (as: Credentials, orgId: string) =>
  api(`/api/v1/organizations/${orgId}/compliance-report/verification-key`, { as });

/** The report bytes exactly as docs/protocol.md §7 tells a third party to find them in the raw body. */
export function reportBytesOf(rawBody: string) {
  const start = rawBody.indexOf('"report":') + '"report":'.length;
  return rawBody.slice(start, rawBody.indexOf(',"signature"', start));
}

/**
 * A verifier written from docs/protocol.md §7 alone, with WebCrypto: HMAC the raw bytes between the
 * markers with the key's ASCII characters and compare in constant time with `signature.value`.
 */
export async function thirdPartyVerify(rawBody: string, verificationKey: string) {
  const bytes = reportBytesOf(rawBody);
  const claimed = /,"signature":\{"algorithm":"HMAC-SHA256","value":"([0-9a-f]{64})"\}/.exec(rawBody)?.[1];
  if (!claimed) return false;
  return crypto.subtle.timingSafeEqual(utf8(await hmacHex(verificationKey, bytes)), utf8(claimed));
}

/** Replaces one character of the report bytes with another, keeping everything else byte-identical. */
export function flipReportByte(rawBody: string, offsetInReport: number) {
  const at = rawBody.indexOf('"report":') + '"report":'.length + offsetInReport;
  const original = rawBody[at]!;
  const replacement = original === "0" ? "1" : original === "e" ? "f" : original === '"' ? "'" : "0";
  return rawBody.slice(0, at) + replacement + rawBody.slice(at + 1);
}
