// The raw baselines: what one Node process does with the same work and no Worker around it.
// Rows are sealed exactly as docs/protocol.md §1 says (the project's own canonicalization and key id),
// with node:crypto HMAC, and stored in SQLite (Node's built-in node:sqlite, so nothing native has to
// be built on a fresh machine) under the project's migrations.
import { createHmac, randomUUID } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type AuditRecord, sealedMessage } from "../../src/audit/chain/record";
import { utf8 } from "../../src/crypto/encoding";
import { canonicalJson } from "../../src/crypto/jcs";
import { auditKeyId } from "../../src/crypto/keys";
import { isoNow } from "../../src/time";

type Input = ReturnType<typeof import("./api").sampleRecord>;
type Head = { seq: number; rowHmac: string | null };

export type RawKey = { id: string; bytes: Uint8Array };

export const rawKey = async (auditHmacKey: string): Promise<RawKey> => ({ id: await auditKeyId(utf8(auditHmacKey)), bytes: utf8(auditHmacKey) });

const hmacHex = (key: RawKey, message: string) => createHmac("sha256", key.bytes).update(message, "utf8").digest("hex");

/** Does node:crypto reproduce the Worker's seal of this record? (The raw baseline's bytes are the Worker's.) */
export const sealMatches = (key: RawKey, record: AuditRecord) => hmacHex(key, sealedMessage(record)) === record.row_hmac;

export function openDatabase(file: string) {
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  const dir = join(import.meta.dirname, "../../migrations");
  for (const name of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    for (const statement of readFileSync(join(dir, name), "utf8").split("--> statement-breakpoint")) {
      if (statement.trim()) db.exec(statement);
    }
  }
  return db;
}

const COLUMNS = [
  "id", "organization_id", "seq", "site_id", "actor_id", "action", "resource_type", "resource_id", "status", "ip_address",
  "user_agent", "changes", "previous_state", "new_state", "metadata", "timestamp", "recorded_at", "key_id", "prev_hash", "row_hmac",
] as const;
const jsonText = (v: Record<string, unknown> | null) => (v === null ? null : canonicalJson(v));

/** Inserts records as the Worker stores them (JSON columns as canonical JSON text), one transaction per call. */
export function recordInserter(db: DatabaseSync) {
  const insert = db.prepare(`INSERT INTO audit_logs (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`);
  return (rows: AuditRecord[]) => {
    db.exec("BEGIN");
    for (const r of rows) {
      insert.run(
        r.id, r.organization_id, r.seq, r.site_id, r.actor_id, r.action, r.resource_type, r.resource_id, r.status, r.ip_address,
        r.user_agent, jsonText(r.changes), jsonText(r.previous_state), jsonText(r.new_state), jsonText(r.metadata), r.timestamp,
        r.recorded_at, r.key_id, r.prev_hash, r.row_hmac,
      );
    }
    db.exec("COMMIT");
  };
}

function sealBatch(inputs: Input[], orgId: string, head: Head, key: RawKey): AuditRecord[] {
  const now = isoNow();
  return inputs.map((input) => {
    const unsealed = {
      id: randomUUID(),
      organization_id: orgId,
      seq: head.seq + 1,
      site_id: null,
      actor_id: input.actor_id,
      action: input.action as AuditRecord["action"],
      resource_type: input.resource_type as AuditRecord["resource_type"],
      resource_id: input.resource_id,
      status: input.status as AuditRecord["status"],
      ip_address: null,
      user_agent: null,
      changes: null,
      previous_state: null,
      new_state: null,
      metadata: input.metadata,
      timestamp: now,
      recorded_at: now,
      key_id: key.id,
      prev_hash: head.rowHmac,
    };
    const row = { ...unsealed, row_hmac: hmacHex(key, sealedMessage(unsealed)) };
    head.seq = row.seq;
    head.rowHmac = row.row_hmac;
    return row;
  });
}

export type RawResult = { rows: number; seconds: number; rows_per_s: number };

/**
 * Seals and inserts batches (one transaction each) for at most `seconds` or `maxRows`, then walks
 * the rows back the way the Worker's validation does (pages of 2,000 by seq) and re-checks every seal.
 */
export async function rawBaselines(file: string, inputs: Input[], key: RawKey, options: { seconds: number; maxRows: number }) {
  const db = openDatabase(file);
  try {
    const orgId = randomUUID();
    const insertBatch = recordInserter(db);
    const head: Head = { seq: 0, rowHmac: null };
    const started = performance.now();
    while (head.seq < options.maxRows && performance.now() - started < options.seconds * 1000) {
      insertBatch(sealBatch(inputs, orgId, head, key));
    }
    const appendSeconds = (performance.now() - started) / 1000;
    const append: RawResult = { rows: head.seq, seconds: appendSeconds, rows_per_s: head.seq / appendSeconds };
    const validate = rawValidate(db, orgId, key);
    return { append, insertOnly: insertOnly(db, inputs, key, Math.max(1, Math.round(head.seq / inputs.length))), validate };
  } finally {
    db.close();
  }
}

/**
 * SQLite's part alone: the same number of batches, sealed beforehand, inserted into another
 * organization's chain. No append of these rows into this schema (its indexes and the trigram
 * search index) can go faster on this machine.
 */
function insertOnly(db: DatabaseSync, inputs: Input[], key: RawKey, batches: number): RawResult {
  const insertBatch = recordInserter(db);
  const head: Head = { seq: 0, rowHmac: null };
  const orgId = randomUUID();
  const sealed = Array.from({ length: batches }, () => sealBatch(inputs, orgId, head, key));
  const started = performance.now();
  for (const rows of sealed) insertBatch(rows);
  const seconds = (performance.now() - started) / 1000;
  return { rows: head.seq, seconds, rows_per_s: head.seq / seconds };
}

function rawValidate(db: DatabaseSync, orgId: string, key: RawKey): RawResult {
  const page = db.prepare("SELECT * FROM audit_logs WHERE organization_id = ? AND seq >= ? ORDER BY seq LIMIT 2000");
  const parse = (t: string | null) => (t === null ? null : (JSON.parse(t) as Record<string, unknown>));
  const started = performance.now();
  let expected: Head = { seq: 0, rowHmac: null };
  for (;;) {
    const rows = page.all(orgId, expected.seq + 1) as Record<string, any>[];
    if (rows.length === 0) break;
    for (const row of rows) {
      const record = { ...row, changes: parse(row.changes), previous_state: parse(row.previous_state), new_state: parse(row.new_state), metadata: parse(row.metadata) };
      const ok = row.seq === expected.seq + 1 && row.prev_hash === expected.rowHmac && hmacHex(key, sealedMessage(record as AuditRecord)) === row.row_hmac;
      if (!ok) throw new Error(`raw baseline chain broken at seq ${row.seq}`);
      expected = { seq: row.seq, rowHmac: row.row_hmac };
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows: expected.seq, seconds, rows_per_s: expected.seq / seconds };
}
