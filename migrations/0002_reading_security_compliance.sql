CREATE TABLE `alert_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`alert_id` text NOT NULL,
	`attempted_at` text NOT NULL,
	`url` text NOT NULL,
	`status_code` integer,
	`error` text,
	`duration_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alert_deliveries_alert_idx` ON `alert_deliveries` (`alert_id`,`attempted_at`);--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text,
	`security_event_id` text NOT NULL,
	`created_at` text NOT NULL,
	`delivery_status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text,
	`last_attempt_at` text,
	`last_error` text,
	`delivered_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_event_unique` ON `alerts` (`security_event_id`);--> statement-breakpoint
CREATE INDEX `alerts_org_created_idx` ON `alerts` (`organization_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `alerts_due_idx` ON `alerts` (`delivery_status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `exports` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`requested_by` text NOT NULL,
	`format` text NOT NULL,
	`filters` text NOT NULL,
	`status` text NOT NULL,
	`r2_key` text NOT NULL,
	`upload_id` text,
	`parts` text DEFAULT '[]' NOT NULL,
	`cursor` text,
	`row_count` integer DEFAULT 0 NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL,
	`sha256` text,
	`error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`completed_at` text
);
--> statement-breakpoint
CREATE INDEX `exports_org_created_idx` ON `exports` (`organization_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `service_backups` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`service_id` text NOT NULL,
	`completed_at` text NOT NULL,
	`type` text NOT NULL,
	`encryption_enabled` integer NOT NULL,
	`encryption_algorithm` text,
	`recorded_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `service_backups_service_idx` ON `service_backups` (`organization_id`,`service_id`,`completed_at`);--> statement-breakpoint
CREATE TABLE `services` (
	`organization_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`database_type` text NOT NULL,
	`version` text NOT NULL,
	`status` text NOT NULL,
	`zones` text NOT NULL,
	`storage_region` text NOT NULL,
	`storage_encrypted` integer NOT NULL,
	`backup_encryption_enabled` integer NOT NULL,
	`tls_enabled` integer NOT NULL,
	`backup_schedule_enabled` integer NOT NULL,
	`backup_schedule_cron` text,
	`backup_retention_days` integer,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`organization_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `webhooks` (
	`organization_id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `security_events_org_type_time_idx` ON `security_events` (`organization_id`,`event_type`,`timestamp`);