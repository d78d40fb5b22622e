import { and, desc, eq, gte, lte } from "drizzle-orm";
import type { Database } from "../../db/client";
import { checkpoints } from "../../db/schema";
import { ed25519Signer, jwkThumbprint, parsePrivateJwk, verifyEd25519 } from "../../crypto/ed25519";
import type { Env } from "../../env";
import { AppError } from "../../http/errors";
import { isoNow } from "../../time";
import { loadAuditKeyring } from "../../crypto/keys";
import { liveChainStart } from "./live-start";
import { type CheckpointRow, rowAtSeq } from "./store";
import { advanceTreeWitness } from "./tree-witness";
import { signTreeHead } from "../../crypto/merkle/tree-head";
import { type Checkpoint, statementOf } from "./checkpoint-statement";

type Signer = Awaited<ReturnType<typeof ed25519Signer>>;
let signer: { source: string; value: Signer } | undefined;

let keyProblemLogged = false;

/** Without the key nothing protects the tail of a chain, and reports go unattested: said loudly, once per isolate. */
function logKeyProblemOnce(problem: string) {
  if (keyProblemLogged) return;
  keyProblemLogged = true;
  console.error(`CHECKPOINT_SIGNING_KEY ${problem}: no signed checkpoints or report attestations, so chain tails are not protected`);
}

export async function checkpointSigner(env: Env): Promise<Signer> {
  const source = env.CHECKPOINT_SIGNING_KEY;
  if (!source) {
    logKeyProblemOnce("is not set");
    throw new AppError(503, "not_configured", "Checkpoint signing is not configured (CHECKPOINT_SIGNING_KEY)");
  }
  if (signer?.source !== source) {
    try {
      signer = { source, value: await ed25519Signer(parsePrivateJwk(source)) };
    } catch (err) {
      logKeyProblemOnce("is not a usable Ed25519 private JWK");
      throw err;
    }
  }
  return signer.value;
}

/** The signer when CHECKPOINT_SIGNING_KEY is set and usable, else null: the tail is then unprotected. */
export async function availableCheckpointSigner(env: Env): Promise<Signer | null> {
  try {
    return await checkpointSigner(env);
  } catch {
    return null;
  }
}

type PublicJwk = { kty: "OKP"; crv: "Ed25519"; x: string; kid: string; alg: "EdDSA"; use: "sig" };

/**
 * A retired key as the JWKS publishes it: its public members only and, as for the current key, the
 * RFC 7638 thumbprint as kid. The configured entry is not echoed: an operator who moves the old
 * private JWK there (as the audit key's rotation moves its old secret) must not publish its "d",
 * and a hand-written kid would not match the kid the key's checkpoints carry.
 */
const publishedRetiredKey = async (x: string): Promise<PublicJwk> => ({
  kty: "OKP",
  crv: "Ed25519",
  x,
  kid: await jwkThumbprint({ kty: "OKP", crv: "Ed25519", x }),
  alg: "EdDSA",
  use: "sig",
});

/** The JWKS: the current checkpoint key first, then retired ones so old checkpoints keep verifying. */
export async function publicKeys(env: Env): Promise<PublicJwk[]> {
  const configured = env.CHECKPOINT_RETIRED_PUBLIC_KEYS ? (JSON.parse(env.CHECKPOINT_RETIRED_PUBLIC_KEYS) as { x?: unknown }[]) : [];
  // An entry without a key (no x) verifies nothing: it is left out rather than published.
  const retired = await Promise.all(configured.flatMap((k) => (typeof k?.x === "string" ? [publishedRetiredKey(k.x)] : [])));
  const active = await availableCheckpointSigner(env);
  const current = active ? [active.publicJwk] : [];
  return [...current, ...retired.filter((k) => !current.some((c) => c.kid === k.kid))];
}

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
  tree_head: row.treeHead,
});

const witnessKey = (orgId: string, name: string | number) => `checkpoints/${orgId}/${name}.json`;

/**
 * Signs the organization's head at `seq` and, given the tree's root at that size, its signed tree
 * head; stores them in D1 and the witness copies in R2. A tree head the witness cannot be proven
 * consistent with is refused (InconsistentTreeHead) before anything is stored.
 */
export async function issueCheckpoint(
  env: Env,
  db: Database,
  head: { organizationId: string; seq: number; rowHmac: string; kind: Checkpoint["kind"]; treeRoot: Uint8Array | null },
): Promise<Checkpoint> {
  const s = await checkpointSigner(env);
  const fields = { organization_id: head.organizationId, seq: head.seq, row_hmac: head.rowHmac, issued_at: isoNow(), kind: head.kind };
  const statement = statementOf(fields);
  let treeHead: string | null = null;
  if (head.treeRoot) {
    const tree = { organizationId: head.organizationId, size: head.seq, root: head.treeRoot };
    treeHead = await signTreeHead(tree, s);
    await advanceTreeWitness(env, { ...tree, note: treeHead }, await publicKeys(env));
  }
  const checkpoint: Checkpoint = { id: crypto.randomUUID(), ...fields, kid: s.kid, statement, signature: await s.sign(statement), tree_head: treeHead };
  // R2 first: a checkpoint must never exist in D1 without its external witness.
  const body = JSON.stringify(checkpoint);
  await env.ARCHIVE.put(witnessKey(head.organizationId, head.seq), body, { httpMetadata: { contentType: "application/json" } });
  if (await extendsWitness(env, db, head)) {
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
    treeHead,
  });
  return checkpoint;
}

/**
 * The witness head only moves forward along the same chain: if the row it signed is gone or
 * different, the chain was rewritten and the witness is kept as the evidence.
 */
async function extendsWitness(env: Env, db: Database, head: { organizationId: string; seq: number }) {
  const previous = await readWitnessHead(env, head.organizationId);
  if (!previous) return true;
  if (previous.seq > head.seq) return false;
  const row = await rowAtSeq(db, head.organizationId, previous.seq);
  if (row?.rowHmac === previous.row_hmac) return true;
  if (!row) {
    // Retention pruned the witnessed row: an authentic prune anchor at or beyond it accounts for it.
    const { anchor, broken } = await liveChainStart(db, await loadAuditKeyring(env), head.organizationId);
    if (anchor && !broken && (previous.seq < anchor.pruned_through_seq || (previous.seq === anchor.pruned_through_seq && anchor.row_hmac === previous.row_hmac))) return true;
  }
  console.error(`organization ${head.organizationId}: the row at witnessed seq ${previous.seq} changed; the witness head is kept`);
  return false;
}

async function readWitnessHead(env: Env, orgId: string): Promise<Checkpoint | null> {
  const object = await env.ARCHIVE.get(witnessKey(orgId, "head"));
  return object ? ((await object.json()) as Checkpoint) : null;
}

export async function listCheckpoints(db: Database, orgId: string, limit: number) {
  const rows = await db
    .select()
    .from(checkpoints)
    .where(eq(checkpoints.organizationId, orgId))
    .orderBy(desc(checkpoints.seq), desc(checkpoints.issuedAt))
    .limit(limit);
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
 * The heads a walk must agree with: D1's newest checkpoint and the R2 witness head, each if
 * authentic. Someone who rewrites D1 cannot make the witness disappear, and the witness only
 * moves along the chain it signed, so a rewritten or regrown tail disagrees with one of them.
 */
export async function signedHeads(env: Env, db: Database, orgId: string): Promise<Checkpoint[]> {
  const [row] = await db.select().from(checkpoints).where(eq(checkpoints.organizationId, orgId)).orderBy(desc(checkpoints.seq)).limit(1);
  const heads: Checkpoint[] = [];
  for (const c of [row ? toCheckpoint(row) : null, await readWitnessHead(env, orgId)]) {
    if (c && c.organization_id === orgId && (await checkpointIsAuthentic(env, c))) heads.push(c);
  }
  return heads;
}

export const furthest = (heads: Checkpoint[]) => heads.reduce<Checkpoint | null>((a, c) => (a && a.seq >= c.seq ? a : c), null);

/** The furthest of the signed heads. */
export const newestCheckpoint = async (env: Env, db: Database, orgId: string) => furthest(await signedHeads(env, db, orgId));
