import { drizzle } from "drizzle-orm/d1";

// No relational schema: nothing uses db.query, and building it walks every table on each request.
export const database = (d1: D1Database) => drizzle(d1);
export type Database = ReturnType<typeof database>;
