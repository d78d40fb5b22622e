-- The search index of audit_logs.metadata, keyed by organization (src/audit/read/filters.ts,
-- searchCandidates). 0011's index was keyed by audit_logs' rowid alone, so a search listed the
-- matching rows of every organization before keeping its own: at 1M rows over ten organizations,
-- ten times the candidates. Here each entry's key is
--   (organizations.rowid << 40) | audit_logs.rowid
-- so one organization's entries are one range of keys, which FTS5 reads alone (a rowid range beside
-- MATCH), and the low 40 bits name the row. Contentless: the index holds no copy of the text, and
-- a deletion must name the text it removes (the triggers pass the old metadata).
-- A migration that rebuilds audit_logs or organizations (new table, copy, rename) drops these
-- triggers and renumbers rowids: it must create them again, empty the index
-- (INSERT INTO audit_search(audit_search) VALUES ('delete-all')) and fill it as the last statement
-- here does.
-- D1 cannot `wrangler d1 export` a database holding a virtual table: see docs/operations.md, "Backups".
DROP TRIGGER `audit_search_insert`;
--> statement-breakpoint
DROP TRIGGER `audit_search_delete`;
--> statement-breakpoint
DROP TRIGGER `audit_search_update`;
--> statement-breakpoint
DROP TABLE `audit_search`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `audit_search` USING fts5(metadata, content='', tokenize='trigram');
--> statement-breakpoint
CREATE TRIGGER `audit_search_insert` AFTER INSERT ON `audit_logs` BEGIN
  INSERT INTO audit_search(rowid, metadata)
  VALUES ((coalesce((SELECT rowid FROM organizations WHERE id = new.organization_id), 0) << 40) | new.rowid, new.metadata);
END;
--> statement-breakpoint
CREATE TRIGGER `audit_search_delete` AFTER DELETE ON `audit_logs` BEGIN
  INSERT INTO audit_search(audit_search, rowid, metadata)
  VALUES ('delete', (coalesce((SELECT rowid FROM organizations WHERE id = old.organization_id), 0) << 40) | old.rowid, old.metadata);
END;
--> statement-breakpoint
CREATE TRIGGER `audit_search_update` AFTER UPDATE OF metadata ON `audit_logs` BEGIN
  INSERT INTO audit_search(audit_search, rowid, metadata)
  VALUES ('delete', (coalesce((SELECT rowid FROM organizations WHERE id = old.organization_id), 0) << 40) | old.rowid, old.metadata);
  INSERT INTO audit_search(rowid, metadata)
  VALUES ((coalesce((SELECT rowid FROM organizations WHERE id = new.organization_id), 0) << 40) | new.rowid, new.metadata);
END;
--> statement-breakpoint
-- The rows stored so far, each organization's together.
INSERT INTO audit_search(rowid, metadata)
SELECT (coalesce(o.rowid, 0) << 40) | a.rowid, a.metadata
FROM audit_logs a LEFT JOIN organizations o ON o.id = a.organization_id
ORDER BY 1;
