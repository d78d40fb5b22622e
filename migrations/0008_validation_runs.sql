CREATE TABLE `scheduled_cursors` (
	`job` text PRIMARY KEY NOT NULL,
	`pass_started_at` text NOT NULL,
	`next_org_id` text,
	`next_start_id` text,
	`next_kind` text,
	`finished_at` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `validation_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`kind` text NOT NULL,
	`started_at` text NOT NULL,
	`finished_at` text NOT NULL,
	`result` text NOT NULL,
	`evidence_key` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `validation_runs_org_started_idx` ON `validation_runs` (`organization_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `validation_runs_started_idx` ON `validation_runs` (`started_at`);