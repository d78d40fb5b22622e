import { hmacSha256Hex, importHmacKey } from "../crypto/hmac";
import type { Tier } from "../db/schema";
import type { ComplianceReport, ReportAuditLog, ReportService } from "./schemas";
import type { ChainCoverage, Service, ServiceBackup } from "./store";
import { residencyOf } from "./zones";

export const RETENTION_POLICY: Record<Tier, string> = {
  FREE: "7 days",
  STARTER: "30 days",
  PROFESSIONAL: "90 days",
  ENTERPRISE: "365 days",
  UNLIMITED: "Unlimited",
};

export type ReportInput = {
  organization: { id: string; name: string; tier: Tier };
  generatedAt: string;
  services: readonly Service[];
  lastBackups: ReadonlyMap<string, ServiceBackup>;
  chain: ChainCoverage;
  retentionEnforced: boolean;
  /** Whether signed checkpoints can protect the chain's tail: a usable CHECKPOINT_SIGNING_KEY. */
  tailProtected: boolean;
  lastCheckpoint: { seq: number; row_hmac: string; issued_at: string; kid: string } | null;
};

// Every object below is written member by member in the documented order: JSON.stringify keeps
// insertion order, and that order is part of the signed bytes.

function reportService(s: Service, last: ServiceBackup | undefined): ReportService {
  const { region, eu_residency } = residencyOf(s.zones, s.storageRegion);
  return {
    service_id: s.id,
    name: s.name,
    database_type: s.databaseType,
    version: s.version,
    status: s.status,
    zones: [...s.zones],
    region,
    eu_residency,
    storage_region: s.storageRegion,
    storage_encrypted: s.storageEncrypted,
    backup_encryption_enabled: s.backupEncryptionEnabled,
    tls_enabled: s.tlsEnabled,
    backups: {
      last_completed_at: last?.completedAt ?? null,
      last_backup_type: last?.type ?? null,
      encryption_enabled: last?.encryptionEnabled ?? null,
      encryption_algorithm: last?.encryptionAlgorithm ?? null,
      schedule_enabled: s.backupScheduleEnabled,
      schedule_cron: s.backupScheduleCron,
      retention_days: s.backupRetentionDays,
    },
  };
}

/** The newest scheduled validation run, as the report names it: its verdict and the evidence it is bound to. */
function scheduledValidation(run: ChainCoverage["lastValidation"]): ReportAuditLog["last_scheduled_validation"] {
  if (!run) return null;
  const result = run.result as { valid?: unknown; broken_reason?: unknown };
  return {
    run_id: run.id,
    kind: run.kind,
    finished_at: run.finishedAt,
    valid: result.valid === true,
    broken_reason: typeof result.broken_reason === "string" ? result.broken_reason : null,
    evidence_key: run.evidenceKey,
    evidence_sha256: run.evidenceSha256,
  };
}

function auditLog(input: ReportInput): ReportAuditLog {
  const { chain, lastCheckpoint: cp } = input;
  return {
    retention_policy: RETENTION_POLICY[input.organization.tier],
    oldest_entry_at: chain.first?.recordedAt ?? null,
    entry_count: chain.entryCount,
    tail_protected: input.tailProtected,
    retention_enforced: input.retentionEnforced,
    pruned_count: chain.pruned?.count ?? 0,
    pruned_through_seq: chain.pruned?.throughSeq ?? null,
    unchained_count: chain.unchainedCount,
    first_seq: chain.first?.seq ?? null,
    head_seq: chain.head?.seq ?? null,
    head_row_hmac: chain.head?.rowHmac ?? null,
    last_checkpoint: cp ? { seq: cp.seq, row_hmac: cp.row_hmac, issued_at: cp.issued_at, kid: cp.kid } : null,
    last_scheduled_validation: scheduledValidation(chain.lastValidation),
  };
}

/** The report (README.md, "Compliance reports"; the ComplianceReport schema). `all_services_eu_residency` is true for an organization without services. */
export function assembleReport(input: ReportInput): ComplianceReport {
  const services = [...input.services].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((s) => reportService(s, input.lastBackups.get(s.id)));
  return {
    organization_id: input.organization.id,
    organization_name: input.organization.name,
    generated_at: input.generatedAt,
    service_count: services.length,
    all_services_eu_residency: services.every((s) => s.eu_residency),
    services,
    audit_log: auditLog(input),
  };
}

export type Attestor = { kid: string; sign(data: string): Promise<string> };

/**
 * The downloadable body of docs/protocol.md §7, built by concatenation so the bytes between `"report":`
 * and `,"signature"` are exactly the bytes that were signed. `verificationKey` is the 64 hex
 * characters; their ASCII bytes are the HMAC key.
 */
export async function signReport(report: ComplianceReport, verificationKey: string, attestor?: Attestor | null) {
  const reportBytes = JSON.stringify(report);
  const value = await hmacSha256Hex(await importHmacKey(verificationKey), reportBytes);
  let body = '{"report":' + reportBytes + ',"signature":{"algorithm":"HMAC-SHA256","value":"' + value + '"}';
  if (attestor) {
    body += ',"attestation":{"algorithm":"Ed25519","kid":' + JSON.stringify(attestor.kid) + ',"value":"' + (await attestor.sign(reportBytes)) + '"}';
  }
  return { body: body + "}", reportBytes };
}
