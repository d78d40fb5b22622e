-- The search index of audit_logs.metadata (src/audit/read/filters.ts, metadataContains): FTS5 with
-- the trigram tokenizer, so a phrase match finds any substring of three characters or more.
-- External content: the index holds no copy of the text, only trigrams keyed by audit_logs' rowid.
-- The triggers keep it in step with every insert, delete (retention prunes) and update of metadata.
-- A migration that rebuilds audit_logs (new table, copy, rename) drops these triggers and renumbers
-- rowids: it must create them again and end with INSERT INTO audit_search(audit_search) VALUES('rebuild').
-- D1 cannot `wrangler d1 export` a database holding a virtual table: see docs/operations.md, "Backups".
CREATE VIRTUAL TABLE `audit_search` USING fts5(metadata, content='audit_logs', content_rowid='rowid', tokenize='trigram');
--> statement-breakpoint
CREATE TRIGGER `audit_search_insert` AFTER INSERT ON `audit_logs` BEGIN
  INSERT INTO audit_search(rowid, metadata) VALUES (new.rowid, new.metadata);
END;
--> statement-breakpoint
CREATE TRIGGER `audit_search_delete` AFTER DELETE ON `audit_logs` BEGIN
  INSERT INTO audit_search(audit_search, rowid, metadata) VALUES ('delete', old.rowid, old.metadata);
END;
--> statement-breakpoint
CREATE TRIGGER `audit_search_update` AFTER UPDATE OF metadata ON `audit_logs` BEGIN
  INSERT INTO audit_search(audit_search, rowid, metadata) VALUES ('delete', old.rowid, old.metadata);
  INSERT INTO audit_search(rowid, metadata) VALUES (new.rowid, new.metadata);
END;
--> statement-breakpoint
-- The rows stored before this migration.
INSERT INTO audit_search(audit_search) VALUES ('rebuild');
