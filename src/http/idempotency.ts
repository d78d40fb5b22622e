import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { sha256Hex } from "../crypto/encoding";
import { canonicalJson } from "../crypto/jcs";
import type { AppEnv } from "./context";
import { AppError } from "./errors";

/** How long a key answers its first request's result. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export const IdempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")
    .optional()
    .openapi({ description: "A retry with the same key answers the first result and writes nothing twice (24 h)" }),
});

export type Idempotency = { key: string; requestHash: string };

/** The key and what identifies its request: the route and the body's canonical JSON. */
export async function idempotencyOf(c: Context<AppEnv>, key: string | undefined, raw: unknown): Promise<Idempotency | undefined> {
  if (!key) return undefined;
  return { key, requestHash: await sha256Hex(`${c.req.method} ${c.req.path}\n${canonicalJson(raw)}`) };
}

/** A key sent again with another request: refused, never answered with the first one's result. */
export const idempotencyKeyReused = (message: string) =>
  new AppError(422, "idempotency_key_reused", message, { details: [{ field: "Idempotency-Key", message }] });
