import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The services inventory a compliance report is built from. */

/** The live platform records a compliance report is built from (services inventory). */
export const services = sqliteTable(
  "services",
  {
    organizationId: text("organization_id").notNull(),
    /** Client-chosen, e.g. svc_…; unique within the organization. */
    id: text("id").notNull(),
    name: text("name").notNull(),
    databaseType: text("database_type").notNull(),
    version: text("version").notNull(),
    status: text("status", { enum: ["provisioning", "running", "stopped", "failed", "deleting"] }).notNull(),
    zones: text("zones", { mode: "json" }).$type<string[]>().notNull(),
    storageRegion: text("storage_region").notNull(),
    storageEncrypted: integer("storage_encrypted", { mode: "boolean" }).notNull(),
    backupEncryptionEnabled: integer("backup_encryption_enabled", { mode: "boolean" }).notNull(),
    tlsEnabled: integer("tls_enabled", { mode: "boolean" }).notNull(),
    backupScheduleEnabled: integer("backup_schedule_enabled", { mode: "boolean" }).notNull(),
    backupScheduleCron: text("backup_schedule_cron"),
    backupRetentionDays: integer("backup_retention_days"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.id] })],
);

export const serviceBackups = sqliteTable(
  "service_backups",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    serviceId: text("service_id").notNull(),
    completedAt: text("completed_at").notNull(),
    type: text("type").notNull(),
    encryptionEnabled: integer("encryption_enabled", { mode: "boolean" }).notNull(),
    encryptionAlgorithm: text("encryption_algorithm"),
    recordedAt: text("recorded_at").notNull(),
  },
  (t) => [index("service_backups_service_idx").on(t.organizationId, t.serviceId, t.completedAt)],
);
