import { and, desc, eq, gte, lte } from "drizzle-orm";
import type { Database } from "../db/client";
import { checkpoints } from "../db/schema";
import { canonicalJson } from "../crypto/jcs";
import { ed25519Signer, parsePrivateJwk, verifyEd25519 } from "../crypto/ed25519";
import type { Env } from "../env";
import { AppError } from "../errors";
import { isoNow } from "../time";
import type { CheckpointRow } from "./store";

export type Checkpoint = {
  id: string;
  organization_id: string;
  seq: number;
  row_hmac: string;
  issued_at: string;
  kind: "head" | "prune";
  kid: string;
  statement: string;
  signature: string;
};

type Signer = Awaited<ReturnType<typeof ed25519Signer>>;
let signer: { source: string; value: Signer } | undefined;

export async function checkpointSigner(env: Env): Promise<Signer> {
  const source = env.CHECKPOINT_SIGNING_KEY;
  if (!source) throw new AppError(503, "not_configured", "Checkpoint signing is not configured (CHECKPOINT_SIGNING_KEY)");
  if (signer?.source !== source) signer = { source, value: await ed25519Signer(parsePrivateJwk(source)) };
  return signer.value;
}

type PublicJwk = { kty: "OKP"; crv: "Ed25519"; x: string; kid: string; alg: "EdDSA"; use: "sig" };

/** The JWKS: the current checkpoint key first, then retired ones so old checkpoints keep verifying. */
export async function publicKeys(env: Env): Promise<PublicJwk[]> {
  const retired = env.CHECKPOINT_RETIRED_PUBLIC_KEYS ? (JSON.parse(env.CHECKPOINT_RETIRED_PUBLIC_KEYS) as PublicJwk[]) : [];
  const current = env.CHECKPOINT_SIGNING_KEY ? [(await checkpointSigner(env)).publicJwk] : [];
  return [...current, ...retired.filter((k) => !current.some((c) => c.kid === k.kid))];
}

export const statementOf = (c: Pick<Checkpoint, "organization_id" | "seq" | "row_hmac" | "issued_at" | "kind">) =>
  canonicalJson({
    type: "chainproof.checkpoint.v1",
    organization_id: c.organization_id,
    seq: c.seq,
    row_hmac: c.row_hmac,
    issued_at: c.issued_at,
    kind: c.kind,
  });

/** A checkpoint counts only if its statement is the one its fields imply and a JWKS key signed it. */
export async function checkpointIsAuthentic(env: Env, c: Checkpoint): Promise<boolean> {
  if (statementOf(c) !== c.statement) return false;
  const key = (await publicKeys(env)).find((k) => k.kid === c.kid);
  return key !== undefined && verifyEd25519(key, c.statement, c.signature);
}

export const toCheckpoint = (row: CheckpointRow): Checkpoint => ({
  id: row.id,
  organization_id: row.organizationId,
  seq: row.seq,
  row_hmac: row.rowHmac,
  issued_at: row.issuedAt,
  kind: row.kind,
  kid: row.kid,
  statement: row.statement,
  signature: row.signature,
});

const witnessKey = (orgId: string, name: string | number) => `checkpoints/${orgId}/${name}.json`;

/** Signs the organization's head at `seq`, stores it in D1 and its witness copy in R2. */
export async function issueCheckpoint(
  env: Env,
  db: Database,
  head: { organizationId: string; seq: number; rowHmac: string; kind: Checkpoint["kind"] },
): Promise<Checkpoint> {
  const s = await checkpointSigner(env);
  const fields = { organization_id: head.organizationId, seq: head.seq, row_hmac: head.rowHmac, issued_at: isoNow(), kind: head.kind };
  const statement = statementOf(fields);
  const checkpoint: Checkpoint = { id: crypto.randomUUID(), ...fields, kid: s.kid, statement, signature: await s.sign(statement) };
  // R2 first: a checkpoint must never exist in D1 without its external witness.
  const body = JSON.stringify(checkpoint);
  await env.ARCHIVE.put(witnessKey(head.organizationId, head.seq), body, { httpMetadata: { contentType: "application/json" } });
  const previousHead = await readWitnessHead(env, head.organizationId);
  if (!previousHead || previousHead.seq <= head.seq) {
    await env.ARCHIVE.put(witnessKey(head.organizationId, "head"), body, { httpMetadata: { contentType: "application/json" } });
  }
  await db.insert(checkpoints).values({
    id: checkpoint.id,
    organizationId: checkpoint.organization_id,
    seq: checkpoint.seq,
    rowHmac: checkpoint.row_hmac,
    issuedAt: checkpoint.issued_at,
    kind: checkpoint.kind,
    kid: checkpoint.kid,
    statement,
    signature: checkpoint.signature,
  });
  return checkpoint;
}

async function readWitnessHead(env: Env, orgId: string): Promise<Checkpoint | null> {
  const object = await env.ARCHIVE.get(witnessKey(orgId, "head"));
  return object ? ((await object.json()) as Checkpoint) : null;
}

export async function listCheckpoints(db: Database, orgId: string) {
  const rows = await db.select().from(checkpoints).where(eq(checkpoints.organizationId, orgId)).orderBy(desc(checkpoints.seq), desc(checkpoints.issuedAt));
  return rows.map(toCheckpoint);
}

export async function checkpointsInRange(db: Database, orgId: string, from: number, to: number) {
  const rows = await db
    .select()
    .from(checkpoints)
    .where(and(eq(checkpoints.organizationId, orgId), gte(checkpoints.seq, from), lte(checkpoints.seq, to)));
  return rows.map(toCheckpoint);
}

/**
 * The newest authentic checkpoint from D1 or the R2 witness, whichever is further along: someone
 * who rewrites D1 cannot make the witness's head disappear.
 */
export async function newestCheckpoint(env: Env, db: Database, orgId: string): Promise<Checkpoint | null> {
  const [row] = await db.select().from(checkpoints).where(eq(checkpoints.organizationId, orgId)).orderBy(desc(checkpoints.seq)).limit(1);
  const candidates = [row ? toCheckpoint(row) : null, await readWitnessHead(env, orgId)].filter((c): c is Checkpoint => c !== null);
  let newest: Checkpoint | null = null;
  for (const c of candidates) {
    if (c.organization_id === orgId && (newest === null || c.seq > newest.seq) && (await checkpointIsAuthentic(env, c))) newest = c;
  }
  return newest;
}
