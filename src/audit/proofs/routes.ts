import { createRoute, z } from "@hono/zod-openapi";
import { queryInteger } from "../../http/query";
import { requireRole } from "../../auth/caller";
import { scopeOrganization } from "../../auth/tenancy";
import { toHex } from "../../crypto/encoding";
import { AppError, invalid } from "../../http/errors";
import { authenticated, errorResponses, json, newRouter } from "../../http/openapi";
import { consistencyProof, treeHeadOfSize } from "../chain/tree-proofs";
import { currentTreeHead, inclusionAnswer } from "./inclusion";
import { recordById } from "../read/store";
import { visibleRecord } from "../read/routes";

/** Public proofs (docs/protocol.md §12, docs/verifying.md §4): checked by anyone with the JWKS, no secret. */
const proofs = newRouter();
const tags = ["Public proofs"];
const hex = z.string().regex(/^[0-9a-f]{64}$/);
const note = z.string().openapi({ description: "A signed tree head: C2SP checkpoint note (origin chainproof/<organization_id>, size, base64 root, Ed25519 signature line)" });
const size = queryInteger(1, Number.MAX_SAFE_INTEGER);

const TreeHeadSchema = z
  .object({ organization_id: z.string(), tree_size: z.number().int(), root_hash: hex, checkpoint: note })
  .openapi("TreeHead");
const InclusionSchema = z
  .object({ organization_id: z.string(), leaf_index: z.number().int(), tree_size: z.number().int(), leaf_hash: hex, inclusion: z.array(hex), checkpoint: note })
  .openapi("InclusionProof");
const ConsistencySchema = z
  .object({ organization_id: z.string(), first: z.number().int(), second: z.number().int(), consistency: z.array(hex), checkpoint: note })
  .openapi("ConsistencyProof");

/** The root a signed tree head states (its third line, base64), as hex. */
const rootHexOf = (checkpoint: string) => toHex(Uint8Array.from(atob(checkpoint.split("\n")[2]!), (ch) => ch.charCodeAt(0)));

proofs.openapi(
  createRoute({
    method: "get",
    path: "/tree-head",
    operationId: "getTreeHead",
    tags,
    security: authenticated,
    summary: "The organization's newest signed tree head",
    middleware: [requireRole("member", "org_admin", "super_admin")] as const,
    request: { query: z.object({ organization_id: z.uuid().toLowerCase().optional() }).strict() },
    responses: { 200: json(TreeHeadSchema, "The newest signed tree head"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const named = c.req.valid("query").organization_id ?? c.get("caller").organizationId;
    if (!named) throw invalid([{ field: "organization_id", message: "a super_admin must name the organization" }]);
    const org = await scopeOrganization(c, named, ["member", "org_admin", "super_admin"]);
    const head = await currentTreeHead(c.env, c.get("db"), org.id, 1);
    if (!head) throw new AppError(404, "not_found", "The organization's chain is empty: there is no tree head yet");
    return c.json({ ...head, root_hash: rootHexOf(head.checkpoint) }, 200);
  },
);

proofs.openapi(
  createRoute({
    method: "get",
    path: "/logs/{id}/proof",
    operationId: "getInclusionProof",
    tags,
    security: authenticated,
    summary: "Proof that a record is in the organization's Merkle tree (RFC 9162 inclusion proof)",
    middleware: [requireRole("member", "org_admin", "super_admin")] as const,
    request: {
      params: z.object({ id: z.uuid().toLowerCase() }),
      query: z
        .object({ tree_size: size.optional().openapi({ description: "A signed tree head's size; default: the newest, signed now if none covers the record" }) })
        .strict(),
    },
    responses: { 200: json(InclusionSchema, "The inclusion proof and the signed tree head it verifies against"), ...errorResponses(401, 403, 404, 422, 503) },
  }),
  async (c) => {
    const row = await visibleRecord(c, await recordById(c.get("db"), c.req.valid("param").id));
    if (row.seq === null) throw new AppError(404, "not_found", "The record is an unchained legacy import: it is not in the Merkle tree");
    return c.json(await inclusionAnswer(c.env, c.get("db"), row.organizationId, row.seq, c.req.valid("query").tree_size), 200);
  },
);

proofs.openapi(
  createRoute({
    method: "get",
    path: "/proofs/consistency",
    operationId: "getConsistencyProof",
    tags,
    security: authenticated,
    summary: "Proof that a tree head extends an older one (RFC 9162 consistency proof)",
    middleware: [requireRole("org_admin", "super_admin")] as const,
    request: {
      query: z
        .object({
          organization_id: z.uuid().toLowerCase().optional(),
          first: size.openapi({ description: "The older signed tree head's size" }),
          second: size.openapi({ description: "The newer signed tree head's size" }),
        })
        .strict(),
    },
    responses: { 200: json(ConsistencySchema, "The consistency proof and the signed tree head of size `second`"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const named = q.organization_id ?? c.get("caller").organizationId;
    if (!named) throw invalid([{ field: "organization_id", message: "a super_admin must name the organization" }]);
    const org = await scopeOrganization(c, named, ["org_admin", "super_admin"]);
    if (q.first > q.second) throw invalid([{ field: "first", message: "must not be greater than second" }]);
    const db = c.get("db");
    const [first, second] = await Promise.all([treeHeadOfSize(db, org.id, q.first), treeHeadOfSize(db, org.id, q.second)]);
    const problems = [
      ...(first ? [] : [{ field: "first", message: `no signed tree head of size ${q.first} was issued` }]),
      ...(second ? [] : [{ field: "second", message: `no signed tree head of size ${q.second} was issued` }]),
    ];
    if (problems.length > 0) throw invalid(problems);
    const proof = await consistencyProof(c.env.DB, org.id, q.first, q.second);
    return c.json({ organization_id: org.id, first: q.first, second: q.second, consistency: proof.map(toHex), checkpoint: second!.checkpoint }, 200);
  },
);

export default proofs;
