import { and, isNotNull, isNull, type SQL } from "drizzle-orm";
import { auditLogs } from "../../db/schema";
import type { Database } from "../../db/client";
import { toHex } from "../../crypto/encoding";
import type { Env } from "../../env";
import { isoNow } from "../../time";
import { csvHeader, csvRows, jsonLines } from "./format";
import { type Cursor, PartFiller, type Position } from "./parts";
import { type ExportRow, updateExport } from "./store";
import type { StoredRow } from "../chain/stored-row";
import { type LogFilters, logConditions, type ReadPath } from "../read/filters";
import { chainedExtent, countRecords, legacyPage, rowsWithinBudget, seqOrderPage } from "../read/store";
import { compactRangeBefore } from "../chain/tree-proofs";
import { signedTreeHeadOfSize } from "../chain/tree-head-of-size";

// R2 multipart: every part but the last must be ≥ 5 MiB and all of one size.
export const PART_SIZE = 5 * 1024 * 1024;
const PAGE_ROWS = 500;
const FIRST_PAGE_ROWS = 100;
const PAGE_BYTES = 4 * 1024 * 1024;
/** Parts one alarm uploads: the part buffer is reused, so this bounds the slice's time, not its memory. */
export const PARTS_PER_RUN = 4;

export const exportConditions = (job: ExportRow, path?: ReadPath) => logConditions(job.filters as LogFilters, path);

/** The next rows after `at`: the chain in seq order first, then legacy rows by id. */
async function nextRows(db: Database, where: SQL | undefined, at: Position, rows: number) {
  if (at.legacyAfterId === undefined) {
    const chained = await seqOrderPage(db, and(where, isNotNull(auditLogs.seq)), at.afterSeq, rows);
    if (chained.length > 0) return chained;
  }
  return legacyPage(db, and(where, isNull(auditLogs.seq)), at.legacyAfterId ?? "", rows);
}

const positionAfter = (row: { seq: number | null; id: string }, before: Position): Position =>
  row.seq === null ? { afterSeq: before.afterSeq, headerDone: true, legacyAfterId: row.id } : { afterSeq: row.seq, headerDone: true };

/**
 * Does one bounded slice of an export: regenerates the byte stream from the saved cursor, uploads
 * whole parts of exactly PART_SIZE, and saves the cursor after each, so a crash or a new alarm
 * resumes at the last part. Answers "done" once the object is complete and hashed.
 */
export async function advanceExport(env: Env, db: Database, job: ExportRow): Promise<"more" | "done"> {
  if (job.status === "pending") job = await beginUpload(env, db, job);
  const upload = env.ARCHIVE.resumeMultipartUpload(job.r2Key, job.uploadId!);
  const where = exportConditions(job);
  const parts = [...job.parts];
  const start = job.cursor as Cursor;
  const filler = new PartFiller(PART_SIZE, { afterSeq: start.afterSeq, headerDone: start.headerDone, legacyAfterId: start.legacyAfterId });
  // The cursor's skip applies to the first piece regenerated: the header, or the row it stopped in.
  let skip = start.skip;
  if (!start.headerDone) {
    filler.add(csvHeader(), { afterSeq: 0, headerDone: true }, skip);
    skip = 0;
  }
  const text = (row: StoredRow) => (job.format === "csv" ? csvRows([row]) : jsonLines([row]));
  let page: StoredRow[] = [];
  let used = 0;
  let exhausted = false;

  for (let uploadedThisRun = 0; ; ) {
    while (!filler.full && !exhausted) {
      if (used === page.length) {
        page = await nextRows(db, where, filler.position, rowsWithinBudget(page, PAGE_BYTES, PAGE_ROWS, FIRST_PAGE_ROWS));
        used = 0;
        exhausted = page.length === 0;
        continue;
      }
      const row = page[used++]!;
      filler.add(text(row), positionAfter(row, filler.position), skip);
      skip = 0;
    }
    if (!filler.full) break;
    const { bytes, cursor } = filler.take();
    const part = await upload.uploadPart(parts.length + 1, bytes);
    parts.push({ partNumber: part.partNumber, etag: part.etag });
    await updateExport(db, job.id, { parts, cursor, updatedAt: isoNow() });
    filler.next();
    if (++uploadedThisRun >= PARTS_PER_RUN && !(exhausted && filler.empty)) return "more";
  }

  const rest = filler.take().bytes;
  if (rest.byteLength > 0) {
    const part = await upload.uploadPart(parts.length + 1, rest);
    parts.push({ partNumber: part.partNumber, etag: part.etag });
  }
  if (parts.length > 0) {
    await upload.complete(parts);
  } else {
    await upload.abort();
    await env.ARCHIVE.put(job.r2Key, new Uint8Array(0));
  }
  await finish(env, db, job, exportConditions(job, "search-list"), parts);
  return "done";
}

async function beginUpload(env: Env, db: Database, job: ExportRow): Promise<ExportRow> {
  const contentType = job.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
  const upload = await env.ARCHIVE.createMultipartUpload(job.r2Key, { httpMetadata: { contentType } });
  const started = {
    status: "running" as const,
    uploadId: upload.uploadId,
    parts: [],
    cursor: { afterSeq: 0, headerDone: job.format !== "csv", skip: 0 } satisfies Cursor,
    updatedAt: isoNow(),
  };
  await updateExport(db, job.id, started);
  return { ...job, ...started };
}

// The stored object is read into one reused buffer (a BYOB reader): piping its body into the digest
// left a fresh ArrayBuffer per chunk for the GC, ~80 MB of the Worker's heap on a 100k-row export.
const HASH_CHUNK = 1024 * 1024;

/** SHA-256 of the stored object: what a downloader will get. */
async function storedSha256(env: Env, key: string): Promise<{ size: number; sha256: string }> {
  const object = await env.ARCHIVE.get(key);
  if (!object) throw new Error("export object missing after completion");
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  const reader = object.body.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(HASH_CHUNK);
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer));
    if (done || !value) break;
    await writer.write(value);
    buffer = value.buffer as ArrayBuffer;
  }
  await writer.close();
  return { size: object.size, sha256: toHex(await digest.digest) };
}

/**
 * What checks the export against the organization's tree offline (docs/protocol.md §8): the signed
 * tree head of its last seq, and the compact range before its first unless that is seq 1. Only when
 * its chained rows are one run of seqs (every unfiltered export; a filtered one only if it skipped
 * none): rows with gaps between them are no range of the tree, and no root can be rebuilt from them.
 */
async function treeEvidence(env: Env, db: Database, orgId: string, where: ReturnType<typeof exportConditions>): Promise<Pick<ExportRow, "treeHead" | "compactRange">> {
  const none = { treeHead: null, compactRange: null };
  const { first, last, chained } = await chainedExtent(db, where);
  if (first === null || last === null || last - first + 1 !== chained) return none;
  const treeHead = await signedTreeHeadOfSize(env, db, orgId, last);
  if (treeHead === null) return none;
  return { treeHead, compactRange: first > 1 ? await compactRangeBefore(env.DB, orgId, first) : null };
}

/** Hashes the finished object as stored and records the totals and the tree evidence (`where` counts: every matching row). */
async function finish(env: Env, db: Database, job: ExportRow, where: ReturnType<typeof exportConditions>, parts: ExportRow["parts"]) {
  const object = await storedSha256(env, job.r2Key);
  const evidence = await treeEvidence(env, db, job.organizationId, where);
  const now = isoNow();
  await updateExport(db, job.id, {
    status: "complete",
    parts,
    ...evidence,
    rowCount: await countRecords(db, where),
    bytes: object.size,
    sha256: object.sha256,
    updatedAt: now,
    completedAt: now,
  });
}
