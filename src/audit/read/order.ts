import { and, desc, eq, lt, lte, or, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { auditLogs } from "../../db/schema";

// The order every list of records is read in, and the keyset position within it.

/** Newest first by the event's own time; ties by seq, then id (rows of several organizations). */
export const newestFirst = [desc(auditLogs.timestamp), desc(auditLogs.seq), desc(auditLogs.id)];

/** Keyset position in newest-first order: after (timestamp, seq, id) = cursor. */
export type NewestFirstCursor = { timestamp: string; seq: number | null; id: string };

/** `timestamp` may be written `+timestamp` by the caller (see logConditions). */
export function olderThan(c: NewestFirstCursor, timestamp: SQLWrapper = auditLogs.timestamp): SQL {
  const seq = sql`coalesce(${auditLogs.seq}, -1)`;
  // The leading `timestamp <=` is what lets an index on the timestamp start at the position.
  return and(lte(timestamp, c.timestamp), or(lt(timestamp, c.timestamp), lt(seq, c.seq ?? -1), and(eq(seq, c.seq ?? -1), lt(auditLogs.id, c.id))))!;
}
