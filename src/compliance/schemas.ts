import { z } from "@hono/zod-openapi";
import { isoTimestamp } from "../http/query";
import { ijson } from "../http/json-input";
import { resourceId } from "../audit/chain/input";
import { VALIDATION_KINDS } from "../db/schema";
import { OrgIdParam } from "../orgs/schemas";
import type { Service, ServiceBackup } from "./store";
import { findZone, MULTI_REGION, REGIONS, residencyOf } from "./zones";

export const SERVICE_STATUSES = ["provisioning", "running", "stopped", "failed", "deleting"] as const;

export const ServiceIdParam = OrgIdParam.extend({
  // A resource id, because chainproof's own records of the service carry it as their resource_id.
  serviceId: resourceId.openapi({
    param: { name: "serviceId", in: "path" },
    example: "svc_orders",
    description: "The platform's own id of the service (1–128 of A–Z a–z 0–9 . _ : -); the resource_id of its audit records",
  }),
});

const zoneCode = z
  .string()
  .refine((code) => findZone(code) !== undefined, "unknown zone code; GET /api/v1/zones lists the catalog")
  .openapi({ example: "de-fra1" });

const text = (max: number) => z.string().trim().min(1).max(max);

export const ServiceBody = ijson(
  z.object({
    name: text(200),
    database_type: text(32).openapi({ example: "postgresql" }),
    version: text(64),
    status: z.enum(SERVICE_STATUSES),
    zones: z
      .array(zoneCode)
      .min(1)
      .max(32)
      .superRefine((zones, ctx) => {
        zones.forEach((code, i) => {
          if (zones.indexOf(code) !== i) ctx.addIssue({ code: "custom", message: "duplicate zone", path: [i] });
        });
      }),
    storage_region: zoneCode.openapi({ description: "The zone that holds the service's storage" }),
    storage_encrypted: z.boolean(),
    backup_encryption_enabled: z.boolean(),
    tls_enabled: z.boolean(),
    backup_policy: z
      .object({
        schedule_enabled: z.boolean(),
        schedule_cron: z
          .string()
          .trim()
          .max(128)
          .regex(/^\S+(\s+\S+){4,5}$/, "must be a cron expression of 5 or 6 fields")
          .nullable(),
        retention_days: z.number().int().min(0).max(36500).nullable(),
      })
      .strict(),
  }).strict(),
).openapi("ServiceInput");

export const ServiceSchema = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    name: z.string(),
    database_type: z.string(),
    version: z.string(),
    status: z.enum(SERVICE_STATUSES),
    zones: z.array(z.string()),
    region: z.enum([...REGIONS, MULTI_REGION]).openapi({ description: "The one region of all zones, or multi-region" }),
    eu_residency: z.boolean().openapi({ description: "Every zone and the storage region lie in EU member states" }),
    storage_region: z.string(),
    storage_encrypted: z.boolean(),
    backup_encryption_enabled: z.boolean(),
    tls_enabled: z.boolean(),
    backup_policy: z.object({ schedule_enabled: z.boolean(), schedule_cron: z.string().nullable(), retention_days: z.number().int().nullable() }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Service");

/** The service as the API shows it, with its derived region and EU residency. */
export const toService = (row: Service): z.infer<typeof ServiceSchema> => ({
  id: row.id,
  organization_id: row.organizationId,
  name: row.name,
  database_type: row.databaseType,
  version: row.version,
  status: row.status,
  zones: row.zones,
  ...residencyOf(row.zones, row.storageRegion),
  storage_region: row.storageRegion,
  storage_encrypted: row.storageEncrypted,
  backup_encryption_enabled: row.backupEncryptionEnabled,
  tls_enabled: row.tlsEnabled,
  backup_policy: {
    schedule_enabled: row.backupScheduleEnabled,
    schedule_cron: row.backupScheduleCron,
    retention_days: row.backupRetentionDays,
  },
  created_at: row.createdAt,
  updated_at: row.updatedAt,
});

// Clock skew a backup agent may have; anything later has not completed yet.
const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

export const BackupBody = ijson(
  z.object({
    completed_at: isoTimestamp.refine((at) => Date.parse(at) <= Date.now() + FUTURE_TOLERANCE_MS, "must not lie in the future"),
    type: text(32).openapi({ description: "full, incremental, differential, snapshot, …", example: "full" }),
    encryption_enabled: z.boolean(),
    encryption_algorithm: text(64).nullable().openapi({ example: "AES-256-GCM" }),
  }).strict(),
)
  .superRefine((b, ctx) => {
    if (!b.encryption_enabled && b.encryption_algorithm !== null) {
      ctx.addIssue({ code: "custom", message: "must be null when encryption_enabled is false", path: ["encryption_algorithm"] });
    }
  })
  .openapi("BackupInput");

export const BackupSchema = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    service_id: z.string(),
    completed_at: z.string(),
    type: z.string(),
    encryption_enabled: z.boolean(),
    encryption_algorithm: z.string().nullable(),
    recorded_at: z.string(),
  })
  .openapi("Backup");

export const toBackup = (row: ServiceBackup): z.infer<typeof BackupSchema> => ({
  id: row.id,
  organization_id: row.organizationId,
  service_id: row.serviceId,
  completed_at: row.completedAt,
  type: row.type,
  encryption_enabled: row.encryptionEnabled,
  encryption_algorithm: row.encryptionAlgorithm,
  recorded_at: row.recordedAt,
});

export const ZoneSchema = z
  .object({
    code: z.string(),
    country: z.string().openapi({ description: "ISO 3166-1 alpha-2" }),
    country_name: z.string(),
    city: z.string(),
    region: z.enum(REGIONS),
    eu: z.boolean().openapi({ description: "The country is an EU member state" }),
  })
  .openapi("Zone");

const ReportBackupsSchema = z.object({
  last_completed_at: z.string().nullable(),
  last_backup_type: z.string().nullable(),
  encryption_enabled: z.boolean().nullable().openapi({ description: "Of the newest recorded backup; null when none" }),
  encryption_algorithm: z.string().nullable(),
  schedule_enabled: z.boolean(),
  schedule_cron: z.string().nullable(),
  retention_days: z.number().int().nullable(),
});

const ReportServiceSchema = z.object({
  service_id: z.string(),
  name: z.string(),
  database_type: z.string(),
  version: z.string(),
  status: z.string(),
  zones: z.array(z.string()),
  region: z.string(),
  eu_residency: z.boolean(),
  storage_region: z.string(),
  storage_encrypted: z.boolean(),
  backup_encryption_enabled: z.boolean(),
  tls_enabled: z.boolean(),
  backups: ReportBackupsSchema,
});

const ReportCheckpointSchema = z.object({ seq: z.number().int(), row_hmac: z.string(), issued_at: z.string(), kid: z.string() });

const ReportValidationSchema = z.object({
  run_id: z.string(),
  kind: z.enum(VALIDATION_KINDS),
  finished_at: z.string(),
  valid: z.boolean(),
  broken_reason: z.string().nullable(),
  evidence_key: z.string().openapi({ description: "The evidence document's key in the R2 bucket" }),
  evidence_sha256: z.string().nullable().openapi({ description: "SHA-256 (hex) of the evidence document's bytes; null only for runs stored before it was kept" }),
});

const ReportAuditLogSchema = z.object({
  retention_policy: z.string().openapi({ example: "90 days" }),
  oldest_entry_at: z.string().nullable().openapi({ description: "recorded_at of the oldest retained chained row" }),
  entry_count: z.number().int().openapi({ description: "Retained chained rows" }),
  tail_protected: z.boolean().openapi({
    description:
      "Whether the deployment signs checkpoints (a usable CHECKPOINT_SIGNING_KEY): without them, rows cut from the end of the chain go unnoticed",
  }),
  retention_enforced: z.boolean().openapi({ description: "Whether the deployment prunes by tier (ENFORCE_ORG_QUOTAS)" }),
  pruned_count: z.number().int().openapi({ description: "Rows pruned by retention so far (the newest prune anchor's pruned_count); 0 before any prune" }),
  pruned_through_seq: z.number().int().nullable().openapi({ description: "The last seq pruned (the newest prune anchor's); null before any prune" }),
  unchained_count: z.number().int().openapi({ description: "Legacy rows imported without a chain" }),
  first_seq: z.number().int().nullable(),
  head_seq: z.number().int().nullable(),
  head_row_hmac: z.string().nullable(),
  last_checkpoint: ReportCheckpointSchema.nullable().openapi({ description: "The newest signed checkpoint" }),
  last_scheduled_validation: ReportValidationSchema.nullable().openapi({ description: "The newest scheduled validation run; null before the first" }),
});

export const ReportSchema = z
  .object({
    organization_id: z.string(),
    organization_name: z.string(),
    generated_at: z.string(),
    service_count: z.number().int(),
    all_services_eu_residency: z.boolean(),
    services: z.array(ReportServiceSchema),
    audit_log: ReportAuditLogSchema,
  })
  .openapi("ComplianceReport");

export type ComplianceReport = z.infer<typeof ReportSchema>;
export type ReportService = z.infer<typeof ReportServiceSchema>;
export type ReportAuditLog = z.infer<typeof ReportAuditLogSchema>;

export const SignedReportSchema = z
  .object({
    report: ReportSchema,
    signature: z.object({ algorithm: z.literal("HMAC-SHA256"), value: z.string() }),
    attestation: z.object({ algorithm: z.literal("Ed25519"), kid: z.string(), value: z.string() }).optional(),
  })
  .openapi("SignedComplianceReport", {
    description:
      "Sent byte for byte as signed: the HMAC covers the raw bytes between the first `\"report\":` and the first `,\"signature\"` (docs/protocol.md §7). " +
      "A file verifies only with exactly these members, in this order, each once, nothing after them, and no member name repeated in any object.",
  });

export const VerificationKeySchema = z
  .object({ algorithm: z.literal("HMAC-SHA256"), key: z.string().openapi({ description: "64 hex characters; the HMAC key is these ASCII characters" }) })
  .openapi("ReportVerificationKey");

export const VerificationSchema = z
  .object({
    valid: z.boolean().openapi({
      description:
        "The HMAC verifies, the file keeps the strict-file rules (top level exactly report, signature, optional attestation, in that order, " +
        "nothing after them, no repeated member name at any depth), and the attestation verifies (it must be present when the deployment signs checkpoints)",
    }),
    hmac_valid: z.boolean(),
    attestation_valid: z.boolean().nullable().openapi({ description: "null when the file carries no attestation" }),
    organization_id: z.string(),
    reason: z.string().nullable().openapi({ description: "The first problem found; null when valid" }),
  })
  .openapi("ReportVerification");
