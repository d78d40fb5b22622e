import { sha256Hex, toHex } from "../../crypto/encoding";
import type { AuditKeyring } from "../../crypto/keys";
import type { Database } from "../../db/client";
import type { Env } from "../../env";
import { recordSecurityEvent, type SecurityScope } from "../../security/record";
import { isoNow } from "../../time";
import { appendToChain, chainOf, SCHEDULER, selfAuditRecord } from "../chain/append";
import type { Checkpoint } from "../chain/checkpoint-statement";
import { availableCheckpointSigner, checkpointsInRange, issueCheckpoint } from "../chain/checkpoints";
import { importStatementOf } from "../chain/legacy-import";
import { recordFromRow, type StoredRow } from "../chain/stored-row";
import { rowsWithinBudget } from "../read/store";
import { rowsInSeqRange, rowsWithIds } from "../chain/store";
import { type ChainBreak, ChainWalker, chainLinkOf } from "../chain/walker";

import { sealChecks, keyringHasher } from "../chain/seal-check";
import { anchorStatement, sealAnchor } from "../chain/anchor";
import { archiveKeyOf, GzipLines, manifestKeyOf } from "./archive-file";
import { liveChainStart } from "../chain/live-start";
import { closedKeyIdsBefore } from "../chain/key-epochs";
import { pruneThrough } from "./policy";
import { treeSize } from "../chain/tree-store";
import { compactRangeBefore, rootAt } from "../chain/tree-proofs";
import { type ArchiveRow, commitPrune, importRecordsInRange, insertArchive, openArchive, pruneCandidates, updateArchive } from "./store";

// One archive: at most this many rows and about this many bytes of JSON, so it is built in memory
// (compressed) within a Worker's limits; a longer prefix is pruned as several archives.
const ARCHIVE_ROWS = 20_000;
const ARCHIVE_BYTES = 24 * 1024 * 1024;
// Pages are sized by bytes as validation's are, so rows of any size keep memory flat.
const PAGE_ROWS = 2_000;
const FIRST_PAGE_ROWS = 200;
const PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Prunes the organization's old prefix (docs/operations.md, "Retention"), an archive at a time:
 * the open prune first, exactly as it was planned, then new ones while rows are due, fewer
 * than `budget.rows` were pruned and the clock is before `budget.until`. Each archive goes pending → archived (R2) → pruned (anchor and
 * delete in one transaction) → complete (audited), so a crash anywhere resumes without loss or a
 * second archive of the same rows. A chain that does not verify is never pruned.
 */
export async function pruneOrganizationChain(scope: SecurityScope, keyring: AuditKeyring, orgId: string, cutoff: string, budget: { rows: number; until: number }) {
  let rows = 0;
  while (rows < budget.rows && Date.now() < budget.until) {
    const archive = (await openArchive(scope.db, orgId)) ?? (await planArchive(scope, keyring, orgId, cutoff));
    if (!archive) return { rows, done: true };
    if (!(await finishArchive(scope, keyring, archive))) return { rows, done: true };
    rows += archive.seqTo - archive.seqFrom + 1;
  }
  return { rows, done: false };
}

async function planArchive(scope: SecurityScope, keyring: AuditKeyring, orgId: string, cutoff: string): Promise<ArchiveRow | null> {
  const live = await liveChainStart(scope.db, keyring, orgId);
  if (live.broken) return halt(scope, orgId, live.broken);
  const from = live.start.seq;
  const due = pruneThrough(await pruneCandidates(scope.db, orgId, from, ARCHIVE_ROWS), from, cutoff, ARCHIVE_BYTES);
  if (due === null) return null;
  // Rows leave D1 only once their leaves are in the Merkle tree: a tree still being built is helped along first.
  let treeCovers = await treeSize(scope.env.DB, orgId);
  if (treeCovers < due) treeCovers = (await chainOf(scope.env, orgId).buildTree(orgId)).tree_size;
  const seqTo = Math.min(due, treeCovers);
  if (seqTo < from) return null;
  const now = isoNow();
  const archive: ArchiveRow = {
    id: crypto.randomUUID(),
    organizationId: orgId,
    seqFrom: from,
    seqTo,
    count: null,
    firstPrevHash: live.start.prevHash,
    lastRowHmac: null,
    bytes: null,
    sha256: null,
    r2Key: archiveKeyOf(orgId, from, seqTo),
    treeHead: null,
    compactRange: null,
    state: "pending",
    createdAt: now,
    updatedAt: now,
  };
  try {
    await insertArchive(scope.db, archive);
    return archive;
  } catch {
    // Another run planned one first (one open prune per organization): carry on with that one.
    return (await openArchive(scope.db, orgId)) ?? null;
  }
}

/** Takes the archive through its remaining steps; false when the chain does not verify and nothing may be pruned. */
async function finishArchive(scope: SecurityScope, keyring: AuditKeyring, archive: ArchiveRow): Promise<boolean> {
  let current = archive;
  if (current.state === "pending") {
    const written = await writeArchive(scope, keyring, current);
    if ("broken" in written) {
      await halt(scope, current.organizationId, written.broken);
      return false;
    }
    current = written.archive;
  }
  if (current.state === "archived") current = await anchorAndDelete(scope, keyring, current);
  if (current.state === "pruned") await auditPrune(scope, current);
  return true;
}

/**
 * Streams rows seq_from..seq_to into a gzipped JSONL archive while walking them (the chain must
 * verify up to the last row pruned), then the legacy rows their import records cover, and stores
 * it with its manifest in R2. The object key is fixed by the plan, so a retry overwrites, never adds.
 * The prune checkpoint is signed before the manifest is written, so that the manifest carries its
 * tree head (docs/protocol.md §8) with the compact range before seq_from: the archive then checks
 * against the tree offline with the public key alone.
 */
async function writeArchive(scope: SecurityScope, keyring: AuditKeyring, archive: ArchiveRow): Promise<{ archive: ArchiveRow } | { broken: ChainBreak }> {
  const { db, env } = scope;
  const orgId = archive.organizationId;
  const live = await liveChainStart(db, keyring, orgId);
  if (live.broken) return { broken: live.broken };
  if (live.start.seq !== archive.seqFrom) return { broken: { id: null, seq: archive.seqFrom, reason: "anchor mismatch" } };
  const walker = new ChainWalker({ ...live.start, closedKeyIds: await closedKeyIdsBefore(db, keyring, orgId, live.start.seq) }, keyringHasher(keyring));
  const file = new GzipLines();
  const legacyIds: string[] = [];
  let page: StoredRow[] | null = null;
  for (let from = archive.seqFrom; from <= archive.seqTo; ) {
    page = await rowsInSeqRange(db, orgId, from, archive.seqTo, rowsWithinBudget(page, PAGE_BYTES, PAGE_ROWS, FIRST_PAGE_ROWS));
    if (page.length === 0) break;
    const seals = await sealChecks(keyring, page);
    for (const [i, row] of page.entries()) {
      const broken = walker.pushSealed(chainLinkOf(row), seals[i]!);
      if (broken) return { broken };
      if (row.action === "import") legacyIds.push(...(importStatementOf(JSON.parse(row.metadata))?.ids ?? []));
    }
    await file.write(page.map((row) => JSON.stringify(recordFromRow(row))));
    from = walker.lastSeq + 1;
  }
  if (walker.lastSeq !== archive.seqTo) return { broken: { id: null, seq: walker.lastSeq + 1, reason: "seq gap" } };
  for (let i = 0; i < legacyIds.length; i += PAGE_ROWS) {
    const rows = await rowsWithIds(db, orgId, legacyIds.slice(i, i + PAGE_ROWS));
    await file.write(rows.filter((row) => row.seq === null).map((row) => JSON.stringify(recordFromRow(row))));
  }
  const { body, sha256 } = await file.finish();
  const checkpoint = await issuePruneCheckpoint(env, db, { ...archive, lastRowHmac: walker.lastRowHmac });
  const treeHead = checkpoint?.tree_head ?? null;
  const done: ArchiveRow = {
    ...archive,
    treeHead,
    compactRange: treeHead !== null && archive.seqFrom > 1 ? await compactRangeBefore(env.DB, orgId, archive.seqFrom) : null,
    count: file.lines,
    lastRowHmac: walker.lastRowHmac,
    bytes: body.length,
    sha256,
    state: "archived",
    updatedAt: isoNow(),
  };
  await putOnce(env.ARCHIVE, archive.r2Key, body, { httpMetadata: { contentType: "application/gzip" }, sha256 });
  const manifest = new TextEncoder().encode(JSON.stringify(manifestOf(done)));
  await putOnce(env.ARCHIVE, manifestKeyOf(archive.r2Key), manifest, { httpMetadata: { contentType: "application/json" }, sha256: await sha256Hex(manifest) });
  await updateArchive(db, archive.id, done);
  return { archive: done };
}

/**
 * Writes an object unless the same bytes are already there. A resumed prune rebuilds the same
 * bytes from the same rows, and under an R2 bucket lock (docs/operations.md) an overwrite would be
 * refused even when nothing changes.
 */
async function putOnce(bucket: R2Bucket, key: string, body: Uint8Array, options: R2PutOptions & { sha256: string }) {
  const existing = await bucket.head(key);
  const stored = existing?.checksums.sha256;
  if (stored && toHex(stored) === options.sha256) return;
  await bucket.put(key, body, options);
}

const manifestOf = (a: ArchiveRow) => ({
  type: "chainproof.archive.v1",
  archive_id: a.id,
  organization_id: a.organizationId,
  archive_key: a.r2Key,
  seq_from: a.seqFrom,
  seq_to: a.seqTo,
  count: a.count,
  first_prev_hash: a.firstPrevHash,
  last_row_hmac: a.lastRowHmac,
  bytes: a.bytes,
  sha256: a.sha256,
  created_at: a.createdAt,
  tree_head: a.treeHead,
  compact_range: a.compactRange,
});

/**
 * The prune checkpoint (already signed with the manifest, unless the archive was written before a
 * signing key was set), then the HMAC-sealed anchor and the deletion in one D1 transaction.
 */
async function anchorAndDelete(scope: SecurityScope, keyring: AuditKeyring, archive: ArchiveRow): Promise<ArchiveRow> {
  const { db, env } = scope;
  const orgId = archive.organizationId;
  await issuePruneCheckpoint(env, db, archive);
  const previous = (await liveChainStart(db, keyring, orgId)).anchor;
  const now = isoNow();
  const anchor = await sealAnchor(
    {
      organization_id: orgId,
      pruned_through_seq: archive.seqTo,
      row_hmac: archive.lastRowHmac!,
      pruned_count: (previous?.pruned_count ?? 0) + archive.count!,
      archive_key: archive.r2Key,
      archive_sha256: archive.sha256!,
      created_at: now,
      key_id: keyring.current.id,
    },
    keyring.current.key,
  );
  const legacyIds = (await importRecordsInRange(db, orgId, archive.seqFrom, archive.seqTo)).flatMap(
    (row) => importStatementOf(JSON.parse(row.metadata))?.ids ?? [],
  );
  await commitPrune(
    db,
    archive,
    {
      id: crypto.randomUUID(),
      organizationId: orgId,
      archiveId: archive.id,
      prunedThroughSeq: anchor.pruned_through_seq,
      rowHmac: anchor.row_hmac,
      prunedCount: anchor.pruned_count,
      archiveKey: anchor.archive_key,
      archiveSha256: anchor.archive_sha256,
      createdAt: anchor.created_at,
      keyId: anchor.key_id,
      statement: anchorStatement(anchor),
      anchorHmac: anchor.anchor_hmac,
    },
    legacyIds,
    now,
  );
  return { ...archive, state: "pruned", updatedAt: now };
}

/** A signed statement of the last pruned row (docs/protocol.md §6), once: a resumed prune gets the one it signed. Null without a signing key. */
async function issuePruneCheckpoint(env: Env, db: Database, archive: ArchiveRow): Promise<Checkpoint | null> {
  if (!(await availableCheckpointSigner(env))) return null;
  const existing = await checkpointsInRange(db, archive.organizationId, archive.seqTo, archive.seqTo);
  const signed = existing.find((c) => c.kind === "prune" && c.row_hmac === archive.lastRowHmac);
  if (signed) return signed;
  return issueCheckpoint(env, db, {
    organizationId: archive.organizationId,
    seq: archive.seqTo,
    rowHmac: archive.lastRowHmac!,
    kind: "prune",
    treeRoot: await rootAt(env.DB, archive.organizationId, archive.seqTo),
  });
}

/** The prune's own record in the chain; its Idempotency-Key makes a resumed run append it once. */
async function auditPrune(scope: SecurityScope, archive: ArchiveRow) {
  const record = selfAuditRecord(SCHEDULER, archive.organizationId, { ipAddress: null, userAgent: null }, {
    action: "retention_prune",
    resourceType: "audit_log",
    resourceId: archive.id,
    metadata: {
      archive_id: archive.id,
      archive_key: archive.r2Key,
      archive_sha256: archive.sha256,
      seq_from: archive.seqFrom,
      seq_to: archive.seqTo,
      pruned_count: archive.count,
    },
  });
  await appendToChain(scope.env, {
    organizationId: archive.organizationId,
    records: [record],
    idempotency: { key: `retention-prune:${archive.id}`, requestHash: archive.id },
  });
  await updateArchive(scope.db, archive.id, { state: "complete", updatedAt: isoNow() });
}

/** A chain that does not verify is left as it is, for the validation that reports it, and the operator is alerted. */
async function halt(scope: SecurityScope, orgId: string, broken: ChainBreak): Promise<null> {
  await recordSecurityEvent(scope, {
    organizationId: orgId,
    eventType: "chain_integrity_failure",
    riskScore: 100,
    severity: "critical",
    description: `Retention halted: the audit chain does not verify at seq ${broken.seq}: ${broken.reason}`,
    metadata: { job: "retention", broken_at: broken.id, broken_seq: broken.seq, broken_reason: broken.reason },
  });
  return null;
}
