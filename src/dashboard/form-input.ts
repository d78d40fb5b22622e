import type { Context } from "hono";
import type { z } from "@hono/zod-openapi";
import { fieldErrors, type FieldError } from "../http/errors";

/**
 * A GET form's query as the API's own query schema reads it: fields left empty are absent, a
 * repeated field is a list. The dashboard validates with the same schemas as the API.
 */
export function formQuery(c: Context): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    const kept = values.filter((v) => v !== "");
    if (kept.length > 0) out[key] = kept.length === 1 ? kept[0]! : kept;
  }
  return out;
}

/** The body of a posted form (without its CSRF field), lists kept as lists. */
export async function formBody(c: Context): Promise<Record<string, string | string[]>> {
  const parsed = await c.req.parseBody({ all: true });
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key === "_csrf") continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string" && v !== "");
    if (values.length > 0) out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function parseWith<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: fieldErrors(result.error.issues) };
}

/** A form field that may be given once or several times, as a list. */
export const listOf = (value: string | string[] | undefined) => (value === undefined ? undefined : Array.isArray(value) ? value : [value]);
