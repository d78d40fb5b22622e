CREATE TABLE `merkle_tiles` (
	`organization_id` text NOT NULL,
	`level` integer NOT NULL,
	`tile_index` integer NOT NULL,
	`hashes` blob NOT NULL,
	PRIMARY KEY(`organization_id`, `level`, `tile_index`)
);
--> statement-breakpoint
ALTER TABLE `checkpoints` ADD `tree_head` text;