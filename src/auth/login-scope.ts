import type { Context } from "hono";
import { database, type Database } from "../db/client";
import type { AppEnv } from "../http/context";
import type { SecurityLog } from "./security-log";

/**
 * What a login needs: the database it checks credentials on (the primary: a replica may not have
 * seen a revocation or a new password yet), the key unknown usernames are hashed with, and where
 * it records what it observed.
 */
export type LoginScope = { db: Database; secretKey: string; log: SecurityLog };

export const loginScope = (c: Context<AppEnv>): LoginScope => ({ db: database(c.env.DB), secretKey: c.env.SECRET_KEY, log: c.get("securityLog") });
