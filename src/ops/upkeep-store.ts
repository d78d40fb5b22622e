import { sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "../db/client";

/**
 * Deletes at most `limit` rows of `table` that match `where`; answers how many went. A bounded
 * statement: one sweep of a table grown large never nears D1's 30 s per query.
 */
export async function deleteSome(db: Database, table: SQLiteTable, where: SQL, limit: number) {
  const result = await db.run(sql`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${where} LIMIT ${limit})`);
  return result.meta.changes;
}

/**
 * Refreshes the query planner's statistics where a table changed enough to need it. D1 runs each
 * query on a connection with no history of its own, so plain `PRAGMA optimize` (which looks only
 * at tables that connection used) does nothing: 0x10000 makes it look at every table, 0x02 runs
 * ANALYZE on those whose statistics are missing or whose size changed tenfold. SQLite bounds that
 * ANALYZE with its own analysis limit (D1 refuses `PRAGMA analysis_limit`).
 */
export const optimizeQueryPlanner = (db: Database) => db.run(sql`PRAGMA optimize=0x10002`);
