import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireRole } from "../auth/caller";
import { type AppEnv } from "../http/context";
import { invalid } from "../http/errors";
import { IdempotencyHeaders, idempotencyOf } from "../http/idempotency";
import { scopeOrganization } from "../auth/tenancy";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import { limitBody } from "../http/request-guards";
import { isoNow } from "../time";
import { TOKEN_ROLES } from "../db/schema";
import { announceWrite, appendAudited, appendToChain } from "./chain/append";
import type { AppendRequest } from "./chain/org-chain";
import { AuditRecordInput, type AuditRecordInput as RecordInput, BatchInput, ImportInput, MAX_RECORD_BYTES, toPendingRecord } from "./chain/input";
import { batchScope, importScope, namingEveryField, rawRecords, recordScope, type Scoped } from "./append-problems";
import { recordFromRow, toStoredRow } from "./chain/stored-row";
import { importStatement } from "./chain/legacy-import";
import { insertRowEffects } from "./chain/store";
import { AuditRecordSchema } from "./chain/record-schema";
import { availableCheckpointSigner } from "./chain/checkpoints";
import { type ReceiptClaim, signedReceipt } from "./chain/receipt";

const logs = newRouter();
const tags = ["Audit log"];
const APPENDERS = ["ingest", "org_admin", "super_admin"] as const;

/** Appends for the caller; a bearer token not yet checked is checked by the chain object in the same call. */
async function appendForCaller(c: Context<AppEnv>, request: Omit<AppendRequest, "token">) {
  const bearer = c.get("uncheckedBearer");
  const outcome = await appendToChain(c.env, { ...request, token: bearer && { tokenHash: bearer.tokenHash, roles: TOKEN_ROLES } });
  c.set("uncheckedBearer", undefined);
  announceWrite(c, outcome);
  await attachReceipt(c, outcome);
  return outcome;
}

async function attachReceipt(c: Context<AppEnv>, outcome: { receipt: ReceiptClaim | null }) {
  const signer = outcome.receipt && (await availableCheckpointSigner(c.env));
  if (signer) c.header(RECEIPT_HEADER, await signedReceipt(outcome.receipt!, signer));
}

const RECEIPT_HEADER = "Chainproof-Receipt";
/** 201 answers of chained appends: the sealed body, and the signed write receipt. */
const sealedAnswer = <T>(schema: T, description: string) => ({
  ...json(schema, description),
  headers: z.object({
    [RECEIPT_HEADER]: z.string().openapi({
      description:
        "base64url(JCS(receipt)): {type: chainproof.receipt.v1, organization_id, first_seq, last_seq, leaves_sha256, recorded_at, kid, signature}, signed with the checkpoint key (docs/protocol.md §12); absent when no signing key is configured",
    }),
  }),
});

/** The records to seal, once nothing the schema could not see is wrong with them either. */
function checked({ orgId, problems }: Scoped, inputs: RecordInput[]) {
  if (problems.length > 0 || orgId === null) throw invalid(problems);
  const now = isoNow();
  return inputs.map((input) => toPendingRecord(input, orgId, now));
}

logs.openapi(
  createRoute({
    method: "post",
    path: "/logs",
    operationId: "appendAuditLog",
    tags,
    security: authenticated,
    summary: "Append one record to the organization's chain",
    middleware: [requireRole(...APPENDERS), limitBody(2 * MAX_RECORD_BYTES)] as const,
    request: { headers: IdempotencyHeaders, body: jsonBody(AuditRecordInput) },
    responses: { 201: sealedAnswer(AuditRecordSchema, "The sealed record"), ...errorResponses(401, 403, 413, 415, 422, 503) },
  }),
  async (c) => {
    const input = c.req.valid("json");
    const raw: unknown = await c.req.json();
    const scoped = await recordScope(c, raw);
    const records = checked(scoped, [input]);
    const outcome = await appendForCaller(c, {
      organizationId: scoped.orgId!,
      records,
      idempotency: await idempotencyOf(c, c.req.valid("header")["idempotency-key"], raw),
    });
    return c.json(outcome.records[0]!, 201);
  },
  namingEveryField(recordScope),
);

logs.openapi(
  createRoute({
    method: "post",
    path: "/logs/batch",
    operationId: "appendAuditLogBatch",
    tags,
    security: authenticated,
    summary: "Append up to 1,000 records, all or nothing, in order",
    middleware: [requireRole(...APPENDERS), limitBody(8 * 1024 * 1024)] as const,
    request: { headers: IdempotencyHeaders, body: jsonBody(BatchInput) },
    responses: {
      201: sealedAnswer(z.object({ records: z.array(AuditRecordSchema) }).openapi("AuditBatch"), "The sealed records, in order"),
      ...errorResponses(401, 403, 413, 415, 422, 503),
    },
  }),
  async (c) => {
    const { records: inputs } = c.req.valid("json");
    const raw = (await c.req.json()) as { records: unknown[] };
    const scoped = await batchScope(c, raw.records);
    const records = checked(scoped, inputs);
    const outcome = await appendForCaller(c, {
      organizationId: scoped.orgId!,
      records,
      idempotency: await idempotencyOf(c, c.req.valid("header")["idempotency-key"], raw),
    });
    return c.json({ records: outcome.records }, 201);
  },
  namingEveryField((c, raw) => batchScope(c, rawRecords(raw))),
);

logs.openapi(
  createRoute({
    method: "post",
    path: "/import",
    operationId: "importLegacyAuditLogs",
    tags,
    security: authenticated,
    summary: "Import up to 1,000 legacy records without a chain (super_admin); the import itself is chained",
    middleware: [requireRole("super_admin"), limitBody(8 * 1024 * 1024)] as const,
    request: { body: jsonBody(ImportInput) },
    responses: {
      201: sealedAnswer(z.object({ records: z.array(AuditRecordSchema), import_record: AuditRecordSchema }).openapi("LegacyImportResult"), "Imported; the write receipt covers the import record"),
      ...errorResponses(401, 403, 404, 409, 413, 415, 422, 503),
    },
  }),
  async (c) => {
    const { organization_id: orgId, records: inputs } = c.req.valid("json");
    const raw = (await c.req.json()) as { records: unknown[] };
    await scopeOrganization(c, orgId, ["super_admin"]);
    const { problems } = importScope(raw);
    if (problems.length > 0) throw invalid(problems);
    const now = isoNow();
    // Answered as stored, like a sealed record: the same bytes a read of them answers.
    const stored = inputs.map((input) =>
      toStoredRow({ ...toPendingRecord(input, orgId, now), id: input.id, seq: null, recorded_at: now, key_id: null, prev_hash: null, row_hmac: null }),
    );
    const legacy = stored.map(recordFromRow);
    const outcome = await appendAudited(
      c,
      orgId,
      { action: "import", resourceType: "audit_log", resourceId: null, metadata: await importStatement(legacy) },
      insertRowEffects(stored),
    );
    // The import record is chained like any append, so it is answered with its write receipt.
    await attachReceipt(c, outcome);
    return c.json({ records: legacy, import_record: outcome.records[0]! }, 201);
  },
  namingEveryField(async (_c, raw) => importScope(raw)),
);

export default logs;
