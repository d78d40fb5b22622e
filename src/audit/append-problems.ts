import type { Context } from "hono";
import { writeScope } from "../auth/tenancy";
import type { AppEnv } from "../http/context";
import { AppError, type FieldError, fieldErrors, invalid } from "../http/errors";
import { recordProblems } from "./chain/input";

// An append's problems come from two places: its schema, and the checks only the raw body and the
// caller allow (the organization it may write to, the 64 KiB limit, I-JSON, the reserved source).
// A 422 names every bad field of both, so a client fixes a refused body in one round trip.

/** Where a body's problems stand, and the organization it goes to (null when that is one of them). */
export type Scoped = { orgId: string | null; problems: FieldError[] };

const memberOf = (raw: unknown, name: string): unknown =>
  typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>)[name] : undefined;

/** A named organization id as the schema keeps it (UUIDs in lowercase); anything else names none. */
const namedOrganization = (raw: unknown) => {
  const named = memberOf(raw, "organization_id");
  return typeof named === "string" ? named.toLowerCase() : undefined;
};

/** writeScope's verdict as field problems instead of a thrown 422. */
async function scopeOf(c: Context<AppEnv>, named: string | undefined, field: string): Promise<Scoped> {
  try {
    return { orgId: await writeScope(c, named, field), problems: [] };
  } catch (err) {
    if (err instanceof AppError && err.status === 422) return { orgId: null, problems: err.details as FieldError[] };
    throw err;
  }
}

/** A body whose only check beyond its schema is the organization it names (a security event). */
export const organizationScope = (c: Context<AppEnv>, raw: unknown) => scopeOf(c, namedOrganization(raw), "organization_id");

/** One record: the organization it names, then what recordProblems finds in its raw body. */
export async function recordScope(c: Context<AppEnv>, raw: unknown): Promise<Scoped> {
  const { orgId, problems } = await scopeOf(c, namedOrganization(raw), "organization_id");
  return { orgId, problems: [...problems, ...recordProblems(raw, undefined, orgId ?? "")] };
}

/**
 * A batch: a super_admin names the organization in the first record and every record must name
 * the same; anyone else writes to its own, and each record naming another is named at its path.
 */
export async function batchScope(c: Context<AppEnv>, records: readonly unknown[]): Promise<Scoped> {
  const superAdmin = c.get("caller").role === "super_admin";
  const { orgId, problems } = await scopeOf(c, superAdmin ? namedOrganization(records[0]) : undefined, "records.0.organization_id");
  records.forEach((raw, i) => {
    if (superAdmin && orgId !== null && namedOrganization(raw) !== orgId) {
      problems.push({ field: `records.${i}.organization_id`, message: "every record must name the same organization" });
    }
    problems.push(...recordProblems(raw, superAdmin ? undefined : namedOrganization(raw), orgId ?? "", `records.${i}`));
  });
  return { orgId, problems };
}

/**
 * A legacy import (super_admin): what recordProblems finds in each raw record, and ids repeated in
 * the import. The organization is the body's own member; the route resolves it (404 when unknown).
 */
export function importScope(raw: unknown): Scoped {
  const records = rawRecords(raw);
  const problems = records.flatMap((record, i) => recordProblems(record, undefined, "", `records.${i}`));
  const ids = records.map((record) => memberOf(record, "id"));
  ids.forEach((id, i) => {
    if (typeof id === "string" && ids.indexOf(id) !== i) problems.push({ field: `records.${i}.id`, message: "appears twice in this import" });
  });
  return { orgId: namedOrganization(raw) ?? null, problems };
}

type Refused = { target: string; data?: unknown; success: false; error: { issues: Parameters<typeof fieldErrors>[0] } };

/**
 * The validation hook of an append route: when the schema refuses the body, `scope` runs on the
 * raw body too and the 422 names both sets of fields (the schema's message first for a field both
 * name). `data` is the parsed body on failure too (@hono/zod-validator passes it either way).
 */
export const namingEveryField =
  (scope: (c: Context<AppEnv>, raw: unknown) => Promise<Scoped>) =>
  // Generic in what the schema accepted, so that the route's handler keeps its own typed input.
  <T>(result: { target: string; success: true; data: T } | Refused, c: Context<AppEnv>) =>
    result.success ? undefined : refuse(result, c, scope);

async function refuse(result: Refused, c: Context<AppEnv>, scope: (c: Context<AppEnv>, raw: unknown) => Promise<Scoped>): Promise<never> {
  const problems = fieldErrors(result.error.issues);
  if (result.target === "json") {
    const seen = new Set(problems.map((p) => p.field));
    problems.push(...(await scope(c, result.data)).problems.filter((p) => !seen.has(p.field)));
  }
  throw invalid(problems);
}

/** The batch body's records, whatever else is wrong with it. */
export const rawRecords = (raw: unknown): unknown[] => {
  const records = memberOf(raw, "records");
  return Array.isArray(records) ? records : [];
};
