CREATE TABLE `audit_archives` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`seq_from` integer NOT NULL,
	`seq_to` integer NOT NULL,
	`count` integer,
	`first_prev_hash` text,
	`last_row_hmac` text,
	`bytes` integer,
	`sha256` text,
	`r2_key` text NOT NULL,
	`state` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_archives_org_seq_idx` ON `audit_archives` (`organization_id`,`seq_from`);--> statement-breakpoint
CREATE UNIQUE INDEX `audit_archives_open_unique` ON `audit_archives` (`organization_id`) WHERE state <> 'complete';--> statement-breakpoint
CREATE TABLE `prune_anchors` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`archive_id` text NOT NULL,
	`pruned_through_seq` integer NOT NULL,
	`row_hmac` text NOT NULL,
	`pruned_count` integer NOT NULL,
	`archive_key` text NOT NULL,
	`archive_sha256` text NOT NULL,
	`created_at` text NOT NULL,
	`key_id` text NOT NULL,
	`statement` text NOT NULL,
	`anchor_hmac` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `prune_anchors_org_seq_unique` ON `prune_anchors` (`organization_id`,`pruned_through_seq`);