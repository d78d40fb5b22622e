CREATE TABLE `login_ip_windows` (
	`ip_address` text NOT NULL,
	`window_started_at` text NOT NULL,
	`failures` integer NOT NULL,
	PRIMARY KEY(`ip_address`, `window_started_at`)
);
--> statement-breakpoint
CREATE INDEX `login_ip_windows_window_idx` ON `login_ip_windows` (`window_started_at`);--> statement-breakpoint
ALTER TABLE `login_attempts` ADD `pending` integer DEFAULT 0 NOT NULL;