CREATE TABLE `security_event_keys` (
	`organization_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`event_id` text NOT NULL,
	`expires_at` text NOT NULL,
	PRIMARY KEY(`organization_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `security_event_keys_expires_idx` ON `security_event_keys` (`expires_at`);