-- When chainproof stored each security event (src/security/retention-store.ts): retention goes by it,
-- not by the client-sent `timestamp`, which an ingest client could set to keep an event forever or
-- to have it pruned at once. Events stored before this migration take their timestamp; the few the
-- previous code stores while this deploys keep null, and retention reads their timestamp.
ALTER TABLE `security_events` ADD `recorded_at` text;--> statement-breakpoint
UPDATE `security_events` SET `recorded_at` = `timestamp`;--> statement-breakpoint
CREATE INDEX `security_events_org_recorded_idx` ON `security_events` (`organization_id`,`recorded_at`);
