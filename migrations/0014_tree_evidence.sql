ALTER TABLE `audit_archives` ADD `tree_head` text;--> statement-breakpoint
ALTER TABLE `audit_archives` ADD `compact_range` text;--> statement-breakpoint
ALTER TABLE `exports` ADD `tree_head` text;--> statement-breakpoint
ALTER TABLE `exports` ADD `compact_range` text;