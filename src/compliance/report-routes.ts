import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { commitAudited } from "../audit/chain/append";
import { availableCheckpointSigner, newestCheckpoint, publicKeys } from "../audit/chain/checkpoints";
import { authenticate, requireRole } from "../auth/caller";
import { type AppEnv } from "../http/context";
import { scopeOrganization } from "../auth/tenancy";
import { sha256Hex } from "../crypto/encoding";
import { reportSigningKeyBytes, reportVerificationKey } from "../crypto/keys";
import type { Role } from "../db/schema";
import type { Env } from "../env";
import { AppError, fieldErrors, invalid } from "../http/errors";
import { authenticated, errorResponses, json, newRouter } from "../http/openapi";
import { OrgIdParam } from "../orgs/schemas";
import { orgTier } from "../orgs/tier";
import { spendBudget } from "../http/rate-limits";
import { limitBody } from "../http/request-guards";
import { isoNow } from "../time";
import { assembleReport, signReport } from "./report";
import { SignedReportSchema, VerificationKeySchema, VerificationSchema } from "./schemas";
import { readReportSnapshot } from "./store";
import { MalformedReport, readSignedReport, verifySignedReport } from "./verify";

const tags = ["Compliance reports"];
/** Any member of the organization; ingest tokens read nothing (README.md, "Identities and roles"). */
const REPORT_READERS: Role[] = ["super_admin", "org_admin", "member"];

const verificationKeyOf = async (env: Env, orgId: string) => reportVerificationKey(await reportSigningKeyBytes(env), orgId);

const reportRoute = createRoute({
  method: "get",
  path: "/{orgId}/compliance-report",
  operationId: "getComplianceReport",
  tags,
  security: authenticated,
  summary: "The signed compliance report, assembled now from live records (any member of the organization)",
  description:
    "Sent byte for byte as signed (docs/protocol.md §7): HMAC-SHA256 over the bytes between the first `\"report\":` and the first " +
    "`,\"signature\"`, keyed with the ASCII characters of the organization's verification key; `attestation` is an Ed25519 " +
    "signature over the same bytes, checkable with /.well-known/jwks.json. Each generation is audited as report_generate.",
  request: { params: OrgIdParam },
  responses: { 200: json(SignedReportSchema, "The signed report"), ...errorResponses(401, 403, 404, 429) },
});

/**
 * Builds, signs and audits a report: `body` is the exact text that was signed. The dashboard's
 * Compliance tab renders `report` from the same call.
 */
export async function signedReport(c: Context<AppEnv>, orgId: string) {
  const org = await scopeOrganization(c, orgId, REPORT_READERS);
  await spendBudget(c.env, "REPORT_BUDGET", org.id);
  const db = c.get("db");
  const [snapshot, checkpoint, attestor] = await Promise.all([
    readReportSnapshot(db, org.id),
    newestCheckpoint(c.env, db, org.id),
    availableCheckpointSigner(c.env),
  ]);
  const report = assembleReport({
    organization: { id: org.id, name: org.name, tier: orgTier(org.settings) },
    generatedAt: isoNow(),
    ...snapshot,
    retentionEnforced: c.env.ENFORCE_ORG_QUOTAS === "true",
    tailProtected: attestor !== null,
    lastCheckpoint: checkpoint,
  });
  const { body, reportBytes } = await signReport(report, await verificationKeyOf(c.env, org.id), attestor);
  // The chain names the exact report handed out (its SHA-256), so a copy can be matched to its record.
  await commitAudited(c, org.id, {
    action: "report_generate",
    resourceType: "report",
    resourceId: null,
    metadata: {
      generated_at: report.generated_at,
      report_sha256: await sha256Hex(reportBytes),
      service_count: report.service_count,
      head_seq: report.audit_log.head_seq,
    },
  });
  return { org, report, body };
}

/** The body is sent as the exact text that was signed, never re-serialized, which is why this handler is a plain route documented with registerPath. */
/** The report route is a plain one (see below), so its path and query are checked here as a validated route's would be. */
async function serveReport(c: Context<AppEnv>, rawOrgId: string) {
  const param = OrgIdParam.safeParse({ orgId: rawOrgId });
  if (!param.success) throw invalid(fieldErrors(param.error.issues));
  const unknown = Object.keys(c.req.queries());
  if (unknown.length > 0) throw invalid(unknown.map((field) => ({ field, message: "Unknown field" })));
  const { org, body } = await signedReport(c, param.data.orgId);
  return c.body(body, 200, {
    "Content-Type": "application/json",
    "Content-Disposition": `attachment; filename="compliance-report-${org.id}.json"`,
    "Cache-Control": "no-store",
  });
}

/** Under /api/v1/organizations: the report and the verification key. */
export const reports = newRouter();
reports.openAPIRegistry.registerPath(reportRoute);
reports.get("/:orgId/compliance-report", (c) => serveReport(c, c.req.param("orgId")));

reports.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}/compliance-report/verification-key",
    operationId: "getReportVerificationKey",
    tags,
    security: authenticated,
    summary: "The organization's report verification key (org_admin)",
    description: "HMAC-SHA256 key for this organization's reports only; the key is the 64 ASCII characters, not their decoded bytes.",
    request: { params: OrgIdParam },
    responses: { 200: json(VerificationKeySchema, "The key"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    c.header("Cache-Control", "no-store");
    return c.json({ algorithm: "HMAC-SHA256" as const, key: await verificationKeyOf(c.env, org.id) }, 200);
  },
);

/** The same report outside /api/v1 (dashboard links and downloads), with the same credentials. */
export const reportPages = newRouter();
reportPages.openAPIRegistry.registerPath({ ...reportRoute, operationId: "downloadComplianceReport" });
reportPages.get("/:orgId/compliance-report", authenticate(), (c) => serveReport(c, c.req.param("orgId")));

/** Under /api/v1/compliance: verification of a downloaded file. */
export const verification = newRouter();
verification.openAPIRegistry.registerPath(
  createRoute({
    method: "post",
    path: "/verify",
    operationId: "verifyComplianceReport",
    tags,
    security: authenticated,
    summary: "Verify a downloaded report file (members of its organization)",
    description:
      "The body is the file's raw bytes, sent as application/json and checked as sent: the HMAC with the organization's " +
      "verification key in constant time, and the attestation against the published keys. The file is read strictly " +
      "(docs/protocol.md §7): its top level must be exactly report, signature and optionally attestation, in that order, with " +
      "nothing after them, and no object anywhere may repeat a member name; otherwise it is valid: false with the reason. " +
      "When the deployment signs checkpoints (CHECKPOINT_SIGNING_KEY), a report without an attestation is not valid. " +
      "A body that is not JSON, or not a signed report at all, is a 422.",
    request: { body: { required: true, content: { "application/json": { schema: SignedReportSchema } } } },
    responses: { 200: json(VerificationSchema, "The verdict"), ...errorResponses(401, 403, 404, 413, 415, 422) },
  }),
);
verification.post("/verify", requireRole(...REPORT_READERS), limitBody(8 * 1024 * 1024, { signedFile: true }), async (c) => {
  let parts;
  try {
    // Strict UTF-8, a BOM kept as text: the signed span must be the file's own bytes, as offline.
    parts = readSignedReport(strictUtf8(await c.req.arrayBuffer()));
  } catch (err) {
    if (!(err instanceof MalformedReport)) throw err;
    throw new AppError(422, "malformed_report", `Not a signed compliance report: ${err.message}`, { details: [{ field: "body", message: err.message }] });
  }
  const org = await scopeOrganization(c, parts.organizationId, REPORT_READERS);
  const policy = { publicKeys: await publicKeys(c.env), required: (await availableCheckpointSigner(c.env)) !== null };
  const result = await verifySignedReport(parts, await verificationKeyOf(c.env, org.id), policy);
  return c.json(result, 200);
});

function strictUtf8(bytes: ArrayBuffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new MalformedReport("the file is not UTF-8 text");
  }
}
