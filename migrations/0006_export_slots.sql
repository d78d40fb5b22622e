ALTER TABLE `exports` ADD `slot` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `exports_active_slot_unique` ON `exports` (`organization_id`,`slot`) WHERE status IN ('pending', 'running');