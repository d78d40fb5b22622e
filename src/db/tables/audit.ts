import { sql } from "drizzle-orm";
import { blob, check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { CompactRangeJson } from "../../crypto/merkle/compact-range";

/** The chain, idempotency keys, signed checkpoints, uncapped exports and scheduled validation. */

/**
 * The chain. JSON columns hold the RFC 8785 text of their value. seq, prev_hash, row_hmac and
 * key_id are null only for legacy rows imported without a chain.
 */
export const auditLogs = sqliteTable(
  "audit_logs",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    seq: integer("seq"),
    siteId: text("site_id"),
    actorId: text("actor_id").notNull(),
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    status: text("status").notNull(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    changes: text("changes"),
    previousState: text("previous_state"),
    newState: text("new_state"),
    metadata: text("metadata").notNull(),
    timestamp: text("timestamp").notNull(),
    recordedAt: text("recorded_at").notNull(),
    keyId: text("key_id"),
    prevHash: text("prev_hash"),
    rowHmac: text("row_hmac"),
  },
  (t) => [
    uniqueIndex("audit_logs_org_seq_unique").on(t.organizationId, t.seq),
    // One index per filter of GET /audit/logs (test/query-plans.integration.test.ts checks the plans).
    // Each filter's index ends in (timestamp, seq) and the organization's time index does not: the
    // filter's index then serves more of the newest-first order, which is what SQLite weighs when
    // it has no statistics to tell that an actor or a resource is far narrower than a date range.
    index("audit_logs_org_time_idx").on(t.organizationId, t.timestamp),
    index("audit_logs_org_action_time_idx").on(t.organizationId, t.action, t.timestamp, t.seq),
    index("audit_logs_org_actor_time_idx").on(t.organizationId, t.actorId, t.timestamp, t.seq),
    // The resource lookup filters on all three and reads newest first: one index serves both.
    index("audit_logs_org_resource_time_idx").on(t.organizationId, t.resourceType, t.resourceId, t.timestamp, t.seq),
    index("audit_logs_org_resource_id_time_idx").on(t.organizationId, t.resourceId, t.timestamp, t.seq),
    index("audit_logs_org_status_time_idx").on(t.organizationId, t.status, t.timestamp, t.seq),
    index("audit_logs_org_site_time_idx").on(t.organizationId, t.siteId, t.timestamp, t.seq),
    // A super_admin's newest first across every organization.
    index("audit_logs_time_idx").on(t.timestamp, t.seq),
    index("audit_logs_org_recorded_idx").on(t.organizationId, t.recordedAt),
    // Defence in depth only: validation never relies on them (an insider can rebuild the table).
    // Column names unqualified: SQLite keeps the text of a CHECK, and the table is renamed into place.
    check("audit_logs_seq_range", sql`seq IS NULL OR (typeof(seq) = 'integer' AND seq >= 1)`),
    check(
      "audit_logs_chain_fields",
      sql`(seq IS NULL AND key_id IS NULL AND prev_hash IS NULL AND row_hmac IS NULL) OR
        (seq IS NOT NULL AND key_id IS NOT NULL AND row_hmac IS NOT NULL AND (seq = 1 OR prev_hash IS NOT NULL))`,
    ),
  ],
);

/** A retried append with the same key answers the rows of the first one (seq_from..seq_to). */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    organizationId: text("organization_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    seqFrom: integer("seq_from").notNull(),
    seqTo: integer("seq_to").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.key] }),
    index("idempotency_keys_expiry_idx").on(t.organizationId, t.expiresAt),
    // The upkeep cron sweeps expired keys of every organization at once (src/ops/upkeep.ts).
    index("idempotency_keys_expires_idx").on(t.expiresAt),
  ],
);

/** Signed statements of an organization's head (docs/protocol.md §6); R2 holds the witness copies. */
export const checkpoints = sqliteTable(
  "checkpoints",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    seq: integer("seq").notNull(),
    rowHmac: text("row_hmac").notNull(),
    issuedAt: text("issued_at").notNull(),
    kind: text("kind", { enum: ["head", "prune"] }).notNull(),
    kid: text("kid").notNull(),
    /** The exact JCS text that was signed. */
    statement: text("statement").notNull(),
    signature: text("signature").notNull(),
    /** The signed tree head (C2SP checkpoint note) of tree size = seq; null before the org's tree was built. */
    treeHead: text("tree_head"),
  },
  (t) => [index("checkpoints_org_seq_idx").on(t.organizationId, t.seq)],
);

/**
 * Signed tree heads made without a checkpoint (docs/protocol.md §12): an export that ends before the
 * organization's head carries the tree head of its last seq, and a checkpoint there would state a
 * head that was not the head. Proof routes accept these sizes like the checkpoints' own.
 */
export const treeHeads = sqliteTable(
  "tree_heads",
  {
    organizationId: text("organization_id").notNull(),
    treeSize: integer("tree_size").notNull(),
    issuedAt: text("issued_at").notNull(),
    /** The C2SP checkpoint note, signature line included. */
    note: text("note").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.treeSize] })],
);

/**
 * The organization's Merkle tree (docs/protocol.md §12) as tiles: tile `tile_index` of `level` holds
 * the hashes (32 bytes each, concatenated) of the complete subtrees of 2^level leaves numbered
 * tile_index·256 … tile_index·256+255. Only the last tile of a level grows; none is ever deleted,
 * so proofs of rows that retention pruned stay valid.
 */
export const merkleTiles = sqliteTable(
  "merkle_tiles",
  {
    organizationId: text("organization_id").notNull(),
    level: integer("level").notNull(),
    tileIndex: integer("tile_index").notNull(),
    hashes: blob("hashes").notNull(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.level, t.tileIndex] })],
);

export const EXPORT_STATUSES = ["pending", "running", "complete", "failed"] as const;

/** Uncapped exports: built in the background into R2 by multipart upload, in chunks. */
export const auditExports = sqliteTable(
  "exports",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    requestedBy: text("requested_by").notNull(),
    format: text("format", { enum: ["jsonl", "csv"] }).notNull(),
    /** The validated filters the export was requested with (JSON). */
    filters: text("filters", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: EXPORT_STATUSES }).notNull(),
    r2Key: text("r2_key").notNull(),
    uploadId: text("upload_id"),
    /** Uploaded parts so far ({partNumber, etag}[]), so work resumes across alarm invocations. */
    parts: text("parts", { mode: "json" }).$type<{ partNumber: number; etag: string }[]>().notNull().default(sql`'[]'`),
    /** Where the next chunk starts (keyset position), JSON. */
    cursor: text("cursor", { mode: "json" }).$type<Record<string, unknown> | null>(),
    rowCount: integer("row_count").notNull().default(0),
    bytes: integer("bytes").notNull().default(0),
    sha256: text("sha256"),
    error: text("error"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    completedAt: text("completed_at"),
    /** When the upkeep cron deleted the object of this complete export, its life being over (src/audit/export/life.ts). */
    expiredAt: text("expired_at"),
    /** Which of the organization's concurrent-export slots a pending or running export holds. */
    slot: integer("slot"),
    /**
     * For an export whose chained rows are one run of seqs (docs/protocol.md §8): the signed tree
     * head of its last seq, and the compact range before its first when that is not seq 1. Null for
     * a filtered export that skips rows, and while the tree does not reach its rows.
     */
    treeHead: text("tree_head"),
    compactRange: text("compact_range", { mode: "json" }).$type<CompactRangeJson>(),
  },
  (t) => [
    index("exports_org_created_idx").on(t.organizationId, t.createdAt),
    // Two requests can never take one slot: the cap on concurrent exports holds under races.
    uniqueIndex("exports_active_slot_unique").on(t.organizationId, t.slot).where(sql`status IN ('pending', 'running')`),
  ],
);

export const VALIDATION_KINDS = ["incremental", "full"] as const;

/** Scheduled validation runs (README.md, "Every row accounted for"): one walk of one organization's chain; R2 holds its evidence. */
export const validationRuns = sqliteTable(
  "validation_runs",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    kind: text("kind", { enum: VALIDATION_KINDS }).notNull(),
    startedAt: text("started_at").notNull(),
    finishedAt: text("finished_at").notNull(),
    /** The ValidationResult of the walk (JSON). */
    result: text("result", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    evidenceKey: text("evidence_key").notNull(),
    /** SHA-256 (hex) of the evidence document's bytes as written to R2; null for runs stored before it was kept. */
    evidenceSha256: text("evidence_sha256"),
  },
  (t) => [index("validation_runs_org_started_idx").on(t.organizationId, t.startedAt), index("validation_runs_started_idx").on(t.startedAt)],
);

/**
 * Where a scheduled pass over every organization resumes: organization `next_org_id` (null: the
 * first), from row `next_start_id` (null: as planned). `finished_at` is set once the pass is done.
 */
export const scheduledCursors = sqliteTable("scheduled_cursors", {
  job: text("job").primaryKey(),
  passStartedAt: text("pass_started_at").notNull(),
  nextOrgId: text("next_org_id"),
  nextStartId: text("next_start_id"),
  nextKind: text("next_kind", { enum: VALIDATION_KINDS }),
  finishedAt: text("finished_at"),
  updatedAt: text("updated_at").notNull(),
});

/**
 * Where a retention prune stands (docs/operations.md, "Retention"): `pending` names rows seq_from..seq_to
 * before anything is written, `archived` once the archive and its manifest are in R2, `pruned` once
 * the anchor is stored and the rows deleted (one D1 transaction), `complete` once the prune is
 * audited in the chain. A crash resumes the open prune exactly, so rows are archived once.
 */
export const ARCHIVE_STATES = ["pending", "archived", "pruned", "complete"] as const;

export const auditArchives = sqliteTable(
  "audit_archives",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    seqFrom: integer("seq_from").notNull(),
    seqTo: integer("seq_to").notNull(),
    /** Rows in the archive: the chained rows seq_from..seq_to and the legacy rows their import records cover. */
    count: integer("count"),
    firstPrevHash: text("first_prev_hash"),
    lastRowHmac: text("last_row_hmac"),
    bytes: integer("bytes"),
    sha256: text("sha256"),
    r2Key: text("r2_key").notNull(),
    /** The prune checkpoint's signed tree head (size seq_to) and the compact range before seq_from (null from seq 1). */
    treeHead: text("tree_head"),
    compactRange: text("compact_range", { mode: "json" }).$type<CompactRangeJson>(),
    state: text("state", { enum: ARCHIVE_STATES }).notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("audit_archives_org_seq_idx").on(t.organizationId, t.seqFrom),
    // One open prune per organization: a second could archive the same rows.
    uniqueIndex("audit_archives_open_unique").on(t.organizationId).where(sql`state <> 'complete'`),
  ],
);

/** Signed prune anchors (docs/protocol.md, "Prune anchors"): validation of the live chain starts from the newest. */
export const pruneAnchors = sqliteTable(
  "prune_anchors",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull(),
    archiveId: text("archive_id").notNull(),
    prunedThroughSeq: integer("pruned_through_seq").notNull(),
    rowHmac: text("row_hmac").notNull(),
    /** Rows pruned behind this anchor, earlier prunes included. */
    prunedCount: integer("pruned_count").notNull(),
    archiveKey: text("archive_key").notNull(),
    archiveSha256: text("archive_sha256").notNull(),
    createdAt: text("created_at").notNull(),
    keyId: text("key_id").notNull(),
    /** The exact JCS text that anchor_hmac seals. */
    statement: text("statement").notNull(),
    anchorHmac: text("anchor_hmac").notNull(),
  },
  (t) => [uniqueIndex("prune_anchors_org_seq_unique").on(t.organizationId, t.prunedThroughSeq)],
);
