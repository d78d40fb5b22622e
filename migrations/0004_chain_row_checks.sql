PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_audit_logs` (
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
	`row_hmac` text,
	CONSTRAINT "audit_logs_seq_range" CHECK(seq IS NULL OR (typeof(seq) = 'integer' AND seq >= 1)),
	CONSTRAINT "audit_logs_chain_fields" CHECK((seq IS NULL AND key_id IS NULL AND prev_hash IS NULL AND row_hmac IS NULL) OR
        (seq IS NOT NULL AND key_id IS NOT NULL AND row_hmac IS NOT NULL AND (seq = 1 OR prev_hash IS NOT NULL)))
);
--> statement-breakpoint
INSERT INTO `__new_audit_logs`("id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status", "ip_address", "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id", "prev_hash", "row_hmac") SELECT "id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status", "ip_address", "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id", "prev_hash", "row_hmac" FROM `audit_logs`;--> statement-breakpoint
DROP TABLE `audit_logs`;--> statement-breakpoint
ALTER TABLE `__new_audit_logs` RENAME TO `audit_logs`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_logs_org_seq_unique` ON `audit_logs` (`organization_id`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_time_idx` ON `audit_logs` (`organization_id`,`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_action_time_idx` ON `audit_logs` (`organization_id`,`action`,`timestamp`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_actor_time_idx` ON `audit_logs` (`organization_id`,`actor_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_resource_time_idx` ON `audit_logs` (`organization_id`,`resource_type`,`resource_id`,`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_recorded_idx` ON `audit_logs` (`organization_id`,`recorded_at`);