import { and, isNotNull, isNull, type SQL } from "drizzle-orm";
import { auditLogs } from "../../db/schema";
import type { Database } from "../../db/client";
import { toHex } from "../../crypto/encoding";
import type { Env } from "../../env";
import { isoNow } from "../../time";
import { csvHeader, csvRows, jsonLines } from "./format";
import { type ExportRow, updateExport } from "./store";
import { type LogFilters, logConditions } from "../read/filters";
import { countRecords, legacyPage, rowsWithinBudget, seqOrderPage } from "../read/store";

// R2 multipart: every part but the last must be ≥ 5 MiB and all of one size.
export const PART_SIZE = 5 * 1024 * 1024;
const PAGE_ROWS = 500;
const FIRST_PAGE_ROWS = 100;
const PAGE_BYTES = 4 * 1024 * 1024;
const PARTS_PER_RUN = 4;

/** Where the byte stream resumes: after row `afterSeq` (and the CSV header), minus `skip` bytes already uploaded. */
/**
 * Where the byte stream stands: after the CSV header, after chained row `afterSeq`, and, once the
 * chain is through, after legacy (unchained) row `legacyAfterId` ("" before the first one).
 */
type Position = { afterSeq: number; headerDone: boolean; legacyAfterId?: string };
type Cursor = Position & { skip: number };
type Segment = { data: Uint8Array; before: Position; after: Position };

const encoder = new TextEncoder();

export const exportConditions = (job: ExportRow) => logConditions(job.filters as LogFilters);

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

  const queue: Segment[] = [];
  let offset = start.skip;
  let buffered = -start.skip;
  let at: Position = { ...start, headerDone: true };
  let exhausted = false;
  let previous: Awaited<ReturnType<typeof seqOrderPage>> | null = null;
  if (!start.headerDone) {
    const header = encoder.encode(csvHeader());
    queue.push({ data: header, before: { afterSeq: 0, headerDone: false }, after: { afterSeq: 0, headerDone: true } });
    buffered += header.byteLength;
  }

  for (let uploadedThisRun = 0; ; ) {
    while (buffered < PART_SIZE && !exhausted) {
      const size = rowsWithinBudget(previous, PAGE_BYTES, PAGE_ROWS, FIRST_PAGE_ROWS);
      const rows = await nextRows(db, where, at, size);
      if (rows.length === 0) exhausted = true;
      previous = rows;
      for (const row of rows) {
        const data = encoder.encode(job.format === "csv" ? csvRows([row]) : jsonLines([row]));
        const after = positionAfter(row, at);
        queue.push({ data, before: at, after });
        buffered += data.byteLength;
        at = after;
      }
    }
    if (buffered < PART_SIZE) break;
    const { bytes, cursor } = takePart(queue, offset, PART_SIZE);
    offset = cursor.skip;
    buffered -= PART_SIZE;
    const part = await upload.uploadPart(parts.length + 1, bytes);
    parts.push({ partNumber: part.partNumber, etag: part.etag });
    await updateExport(db, job.id, { parts, cursor, updatedAt: isoNow() });
    if (++uploadedThisRun >= PARTS_PER_RUN && !(exhausted && buffered === 0)) return "more";
  }

  const rest = takePart(queue, offset, buffered).bytes;
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
  await finish(env, db, job, where, parts);
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

/** Cuts `size` bytes off the front of the queue (after `offset` bytes of its first segment). */
function takePart(queue: Segment[], offset: number, size: number): { bytes: Uint8Array; cursor: Cursor } {
  const bytes = new Uint8Array(size);
  let filled = 0;
  let consumed: Position | undefined;
  while (filled < size || (queue[0] && queue[0].data.byteLength === offset)) {
    const segment = queue[0]!;
    const take = Math.min(segment.data.byteLength - offset, size - filled);
    bytes.set(segment.data.subarray(offset, offset + take), filled);
    filled += take;
    offset += take;
    if (offset === segment.data.byteLength) {
      consumed = queue.shift()!.after;
      offset = 0;
    }
  }
  const next = queue[0];
  const cursor: Cursor = next ? { ...next.before, skip: offset } : { ...(consumed ?? { afterSeq: 0, headerDone: true }), skip: 0 };
  return { bytes, cursor };
}

/** Hashes the finished object as stored (what a downloader will get) and records the totals. */
async function finish(env: Env, db: Database, job: ExportRow, where: ReturnType<typeof exportConditions>, parts: ExportRow["parts"]) {
  const object = await env.ARCHIVE.get(job.r2Key);
  if (!object) throw new Error("export object missing after completion");
  const digest = new crypto.DigestStream("SHA-256");
  await object.body.pipeTo(digest);
  const now = isoNow();
  await updateExport(db, job.id, {
    status: "complete",
    parts,
    rowCount: await countRecords(db, where),
    bytes: object.size,
    sha256: toHex(await digest.digest),
    updatedAt: now,
    completedAt: now,
  });
}
