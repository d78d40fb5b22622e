ALTER TABLE `exports` ADD `expired_at` text;--> statement-breakpoint
ALTER TABLE `validation_runs` ADD `evidence_sha256` text;--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires_idx` ON `idempotency_keys` (`expires_at`);--> statement-breakpoint
CREATE INDEX `sessions_expires_idx` ON `sessions` (`expires_at`);