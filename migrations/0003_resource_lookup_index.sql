DROP INDEX `audit_logs_org_resource_idx`;--> statement-breakpoint
CREATE INDEX `audit_logs_org_resource_time_idx` ON `audit_logs` (`organization_id`,`resource_type`,`resource_id`,`timestamp`,`seq`);