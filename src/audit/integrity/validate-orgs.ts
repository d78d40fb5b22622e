import { z } from "@hono/zod-openapi";
import type { AuditKeyring } from "../../crypto/keys";
import { fromBase64Url, toBase64Url, utf8 } from "../../crypto/encoding";
import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { organizationIdsFrom } from "../../orgs/store";
import { type ValidationResult, validateOrganization } from "./validate";

/**
 * Organizations one call walks at most, whatever their size: each costs a handful of D1 queries,
 * an R2 read and an audited append even when empty, and a Worker invocation has a query budget.
 */
export const MAX_ORGS_PER_CALL = 25;

/** Where a walk over every organization resumes: organization `organizationId`, from row `startId` or its genesis. */
export type ValidateCursor = { organizationId: string; startId: string | null };

const CursorSchema = z.object({ o: z.uuid().toLowerCase(), s: z.uuid().toLowerCase().nullable() }).strict();

export const encodeCursor = (cursor: ValidateCursor) => toBase64Url(utf8(JSON.stringify({ o: cursor.organizationId, s: cursor.startId })));

/** The cursor a previous answer handed out, or null for anything that is not one. */
export function decodeCursor(text: string): ValidateCursor | null {
  try {
    const parsed = CursorSchema.safeParse(JSON.parse(new TextDecoder().decode(fromBase64Url(text))));
    return parsed.success ? { organizationId: parsed.data.o, startId: parsed.data.s } : null;
  } catch {
    return null;
  }
}

/**
 * Walks the organizations in id order from `from` (or the first), `limit` rows in total across
 * all of them. `afterEach` runs once an organization's walk is done (it audits the walk). `next`
 * is where the following call resumes, null once every organization was walked to its end.
 */
export async function validateOrganizations(
  env: Env,
  db: Database,
  keyring: AuditKeyring,
  from: ValidateCursor | null,
  limit: number,
  afterEach: (result: ValidationResult) => Promise<void>,
) {
  const orgIds = await organizationIdsFrom(db, from?.organizationId ?? null, MAX_ORGS_PER_CALL + 1);
  const results: ValidationResult[] = [];
  let remaining = limit;
  let next: ValidateCursor | null = null;
  for (const [i, orgId] of orgIds.entries()) {
    if (i === MAX_ORGS_PER_CALL || remaining === 0) {
      next = { organizationId: orgId, startId: null };
      break;
    }
    // The cursor's row belongs to its organization; any later one starts at genesis.
    const startId = orgId === from?.organizationId ? (from.startId ?? undefined) : undefined;
    const result = await validateOrganization(env, db, keyring, orgId, { startId, limit: remaining });
    results.push(result);
    await afterEach(result);
    remaining -= result.checked;
    if (result.next_start_id) {
      next = { organizationId: orgId, startId: result.next_start_id };
      break;
    }
  }
  return { results, next };
}
