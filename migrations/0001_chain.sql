CREATE TABLE `audit_logs` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`seq` integer,
	`site_id` text,
	`actor_id` text NOT NULL,
	`action` text NOT NULL,
	`resource_type` text NOT NULL,
	`resource_id` text,
	`status` text NOT NULL,
	`ip_address` text,
	`user_agent` text,
	`changes` text,
	`previous_state` text,
	`new_state` text,
	`metadata` text NOT NULL,
	`timestamp` text NOT NULL,
	`recorded_at` text NOT NULL,
	`key_id` text,
	`prev_hash` text,
	`row_hmac` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `audit_logs_org_seq_unique` ON `audit_logs` (`organization_id`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_time_idx` ON `audit_logs` (`organization_id`,`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_action_time_idx` ON `audit_logs` (`organization_id`,`action`,`timestamp`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_actor_time_idx` ON `audit_logs` (`organization_id`,`actor_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_resource_idx` ON `audit_logs` (`organization_id`,`resource_type`,`resource_id`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_recorded_idx` ON `audit_logs` (`organization_id`,`recorded_at`);--> statement-breakpoint
CREATE TABLE `checkpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`seq` integer NOT NULL,
	`row_hmac` text NOT NULL,
	`issued_at` text NOT NULL,
	`kind` text NOT NULL,
	`kid` text NOT NULL,
	`statement` text NOT NULL,
	`signature` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `checkpoints_org_seq_idx` ON `checkpoints` (`organization_id`,`seq`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`organization_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`seq_from` integer NOT NULL,
	`seq_to` integer NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	PRIMARY KEY(`organization_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_expiry_idx` ON `idempotency_keys` (`organization_id`,`expires_at`);