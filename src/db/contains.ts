import { type SQL, type SQLWrapper, sql } from "drizzle-orm";

/**
 * `haystack` contains `text`, ignoring ASCII case as LIKE does, with every character literal.
 * instr() rather than LIKE: D1 refuses LIKE patterns over 50 bytes, and needs no escaping.
 */
export const containsText = (haystack: SQLWrapper, text: string): SQL => sql`instr(lower(${haystack}), lower(${text})) > 0`;
