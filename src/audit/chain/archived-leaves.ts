import { toHex } from "../../crypto/encoding";
import { leafHashOfCanonical } from "../../crypto/merkle/hash";
import type { Database } from "../../db/client";
import { type AuditRecord, canonicalRow } from "./record";
import { anchorsOf } from "./store";

/**
 * Leaf hashes of rows that retention pruned before the organization's tree existed, read back from
 * their R2 archive (gzipped JSONL, docs/protocol.md §5): the archive's bytes must still be the
 * ones its anchor sealed, and its lines must run gaplessly from `from`. Answers the leaves of
 * seq from…(the archive's last seq).
 */
export async function archivedLeaves(bucket: R2Bucket, db: Database, orgId: string, from: number): Promise<Uint8Array[]> {
  const anchor = (await anchorsOf(db, orgId)).find((a) => a.prunedThroughSeq >= from);
  if (!anchor) throw new Error(`organization ${orgId}: row ${from} is neither in D1 nor in an archive`);
  const object = await bucket.get(anchor.archiveKey);
  if (!object) throw new Error(`organization ${orgId}: the archive ${anchor.archiveKey} is missing`);
  const [forDigest, forLines] = object.body.tee();
  const digest = new crypto.DigestStream("SHA-256");
  const digested = forDigest.pipeTo(digest);
  // Awaited below; a broken archive may fail the lines first, and that failure is the one reported.
  digested.catch(() => undefined);
  const leaves: Uint8Array[] = [];
  let next = from;
  const gunzip = new DecompressionStream("gzip");
  // A truncated archive fails the reading side below; the writing side's copy of that error is not news.
  forLines.pipeTo(gunzip.writable).catch(() => undefined);
  for await (const line of lines(gunzip.readable.pipeThrough(new TextDecoderStream()))) {
    const record = JSON.parse(line) as AuditRecord;
    if (record.seq === null || record.seq < next) continue;
    if (record.seq !== next || record.organization_id !== orgId) throw new Error(`organization ${orgId}: the archive ${anchor.archiveKey} skips seq ${next}`);
    leaves.push(await leafHashOfCanonical(canonicalRow(record)));
    next++;
  }
  await digested;
  if (toHex(await digest.digest) !== anchor.archiveSha256) throw new Error(`organization ${orgId}: the archive ${anchor.archiveKey} is not the one its anchor sealed`);
  if (next !== anchor.prunedThroughSeq + 1) throw new Error(`organization ${orgId}: the archive ${anchor.archiveKey} ends before seq ${anchor.prunedThroughSeq}`);
  return leaves;
}

async function* lines(text: ReadableStream<string>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of text) {
    rest += chunk;
    let end: number;
    while ((end = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, end);
      rest = rest.slice(end + 1);
      if (line !== "") yield line;
    }
  }
  if (rest !== "") yield rest;
}
