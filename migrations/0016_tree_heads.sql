-- Signed tree heads made without a checkpoint (src/audit/chain/tree-head-of-size.ts): an export that
-- ends before the organization's head carries the tree head of its last seq; a checkpoint of kind
-- "head" there would state a head that was not the head when it was signed.
CREATE TABLE `tree_heads` (
	`organization_id` text NOT NULL,
	`tree_size` integer NOT NULL,
	`issued_at` text NOT NULL,
	`note` text NOT NULL,
	PRIMARY KEY(`organization_id`, `tree_size`)
);
