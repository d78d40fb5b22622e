import type { Database } from "../db/client";
import { securityEvents } from "../db/schema";

export type NewSecurityEvent = typeof securityEvents.$inferInsert;

export const insertSecurityEvent = (db: Database, event: NewSecurityEvent) =>
  db.insert(securityEvents).values(event).returning();
