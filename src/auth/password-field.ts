import { z } from "@hono/zod-openapi";

/** Every password a user chooses: at least 10 characters. */
export const passwordField = z.string().min(10).max(256);
