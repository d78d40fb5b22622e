DROP INDEX `audit_logs_org_time_idx`;--> statement-breakpoint
DROP INDEX `audit_logs_org_action_time_idx`;--> statement-breakpoint
DROP INDEX `audit_logs_org_actor_time_idx`;--> statement-breakpoint
CREATE INDEX `audit_logs_org_resource_id_time_idx` ON `audit_logs` (`organization_id`,`resource_id`,`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_status_time_idx` ON `audit_logs` (`organization_id`,`status`,`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_site_time_idx` ON `audit_logs` (`organization_id`,`site_id`,`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_time_idx` ON `audit_logs` (`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_time_idx` ON `audit_logs` (`organization_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_action_time_idx` ON `audit_logs` (`organization_id`,`action`,`timestamp`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_logs_org_actor_time_idx` ON `audit_logs` (`organization_id`,`actor_id`,`timestamp`,`seq`);