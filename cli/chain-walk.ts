import { type ChainBreak, ChainWalker, type RowHasher } from "../src/audit/chain/walker";
import { importCoverageBreak, importStatementOf } from "../src/audit/chain/legacy-import";
import { type AuditRecord, RECORD_MEMBERS } from "../src/audit/chain/record";
import { GzipError, openChainFile } from "./chain-files";
import { duplicateMember } from "./member-names";
import { Progress } from "./progress";

const MEMBER_SET: ReadonlySet<string> = new Set(RECORD_MEMBERS);

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * JSON text that must be an object with exactly `members`: the object, or what is wrong with it. A
 * member name written twice is refused: JSON.parse would keep the last, a reader may see the first.
 */
export function exactObject(text: string, members: ReadonlySet<string>): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  const duplicate = duplicateMember(text, value);
  if (duplicate) return duplicate;
  if (!isObject(value)) return "not a JSON object";
  const missing = [...members].filter((m) => !(m in value));
  if (missing.length > 0) return `missing ${missing.join(", ")}`;
  const extra = Object.keys(value).filter((k) => !members.has(k));
  if (extra.length > 0) return `unexpected member ${extra.join(", ")}`;
  return value;
}
const stringOrNull = (v: unknown) => v === null || typeof v === "string";

/**
 * The record on one line, or what is wrong with it. Values are sealed as they are, so only the chain
 * fields are typed here; a member name written twice anywhere in the line is refused.
 */
export function parseRecord(line: string): AuditRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not valid JSON";
  }
  return duplicateMember(line, value) ?? recordOf(value);
}

/** A parsed JSON value as a record, or what is wrong with it. */
export function recordOf(value: unknown): AuditRecord | string {
  if (!isObject(value)) return "not a JSON object";
  const missing = RECORD_MEMBERS.filter((m) => !(m in value));
  if (missing.length > 0) return `missing ${missing.join(", ")}`;
  const extra = Object.keys(value).filter((k) => !MEMBER_SET.has(k));
  if (extra.length > 0) return `unexpected member ${extra.join(", ")}`;
  if (typeof value.id !== "string" || typeof value.organization_id !== "string") return "id and organization_id must be strings";
  if (value.seq !== null && !(Number.isSafeInteger(value.seq) && (value.seq as number) >= 1)) return "seq must be a positive integer or null";
  if (!stringOrNull(value.key_id) || !stringOrNull(value.prev_hash) || !stringOrNull(value.row_hmac)) {
    return "key_id, prev_hash and row_hmac must be strings or null";
  }
  return value as AuditRecord;
}

/** What the caller knows must hold at given rows: signed checkpoints and prune anchors name a seq's row_hmac. */
export type Pins = {
  /** Checked by the walker itself, which answers "checkpoint mismatch". */
  checkpoints: Map<number, string[]>;
  anchors: Map<number, string[]>;
  /** The organization each pin belongs to, and the break when the chain is another's. */
  owners: { organizationId: string; reason: string }[];
};

/** Where a break is: `file` is the path as given (null when it is the only file), `line` within it (null: the file as a whole). */
export type Found = { id: string | null; seq: number | null; reason: string; file: string | null; line: number | null };

/** Where a chained record is: `file` is the path as given (null when it is the only file). */
export type Located = { seq: number; id: string; file: string | null; line: number };

/** "seq, id, line": where a break is, in its file when there are several; a break of a whole file names the file alone. */
export function locationOf(found: Found) {
  const line = found.line === null ? found.file : found.file === null ? `line ${found.line}` : `${found.file} line ${found.line}`;
  return [found.seq !== null ? `seq ${found.seq}` : null, found.id ? `id ${found.id}` : null, line].filter(Boolean).join(", ");
}

/** The text after "first break:": where, then why (a lone file that holds no records has no where). */
export const breakText = (found: Found) => [locationOf(found), found.reason].filter(Boolean).join(": ");

/** A line of a chain file: the record on it, or the reason the walk stops there (`line` null: the file as a whole). */
export type FileLine = { line: number; record: AuditRecord } | { line: number | null; broken: Pick<Found, "id" | "seq" | "reason"> };

/**
 * The records of one file in order, each with its line; the first line that holds no record ends
 * them with the reason. Every line must hold one (only the file's final newline may end it, so a
 * blank line is malformed), a record id may appear once in all the files (`seenIds`, shared by
 * them: a line repeated would otherwise count as another unchained row), and a file with no record
 * proves nothing.
 */
export async function* fileLines(lines: AsyncIterable<string>, seenIds: Set<string>): AsyncGenerator<FileLine> {
  let line = 0;
  for await (const text of lines) {
    line++;
    const record = text.trim() === "" ? "blank line" : parseRecord(text);
    if (typeof record === "string") {
      yield { line, broken: { id: null, seq: null, reason: `malformed record: ${record}` } };
      return;
    }
    if (seenIds.has(record.id)) {
      yield { line, broken: { id: record.id, seq: record.seq, reason: "duplicate record id" } };
      return;
    }
    seenIds.add(record.id);
    yield { line, record };
  }
  if (line === 0) yield { line: null, broken: { id: null, seq: null, reason: "the file holds no records" } };
}

/** One input file as walked; `complete` once every line of it was read (its sha256 is then final). */
export type WalkedFile = {
  path: string;
  gzip: boolean;
  firstSeq: number | null;
  lastSeq: number | null;
  records: number;
  unchained: number;
  complete: boolean;
  sha256: string;
};

export type Walk = {
  organizationId: string | null;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The first chained row, where the walk starts. */
  first: Located | null;
  checked: number;
  unchained: number;
  found: Found | null;
  files: WalkedFile[];
};

/**
 * Walks the files as ONE chain, in the order given, through the same ChainWalker the API validates
 * with: the first row of a file must link to the last row of the one before. Each file is streamed
 * line by line (gunzipped when it is gzip); what is kept grows only with the record ids seen, which
 * must not repeat, and the unchained rows.
 */
export async function walkFiles(paths: string[], hasher: RowHasher, pins: Pins): Promise<Walk> {
  let walker: ChainWalker | null = null;
  let found: Found | null = null;
  let organizationId: string | null = null;
  let first: Located | null = null;
  // Unchained rows must be covered by an import record of any of the files (docs/protocol.md, "Every row accounted for").
  const unchained = new Map<string, AuditRecord>();
  const imports: AuditRecord[] = [];
  const seenIds = new Set<string>();
  const files: WalkedFile[] = [];
  const progress = new Progress(process.stderr);
  for (const path of paths) {
    const named = paths.length > 1 ? path : null;
    const reader = await openChainFile(path);
    const file: WalkedFile = { path, gzip: reader.gzip, firstSeq: null, lastSeq: null, records: 0, unchained: 0, complete: false, sha256: "" };
    files.push(file);
    try {
      for await (const read of fileLines(reader.lines(), seenIds)) {
        if ("broken" in read) {
          found = { ...read.broken, file: named, line: read.line };
          break;
        }
        const { record } = read;
        const at = { file: named, line: read.line };
        file.records++;
        if (record.seq === null) {
          unchained.set(record.id, record);
          file.unchained++;
          continue;
        }
        if (!walker) {
          organizationId = record.organization_id;
          first = { seq: record.seq, id: record.id, ...at };
          const foreign = pins.owners.find((owner) => owner.organizationId !== organizationId);
          if (foreign) {
            found = { id: record.id, seq: record.seq, reason: foreign.reason, ...at };
            break;
          }
          // A chain that starts after genesis (a range export, or an archive after a prune) links from its first row.
          walker = new ChainWalker({ organizationId, seq: record.seq, prevHash: record.seq === 1 ? null : record.prev_hash }, hasher);
        }
        const broken = await walker.push(record, pins.checkpoints.get(record.seq));
        if (broken) {
          found = { ...broken, ...at };
          break;
        }
        if (pins.anchors.get(record.seq)?.some((anchored) => anchored !== record.row_hmac)) {
          found = { id: record.id, seq: record.seq, reason: "anchor mismatch (the anchor names another row_hmac for this seq)", ...at };
          break;
        }
        file.firstSeq ??= record.seq;
        file.lastSeq = record.seq;
        if (record.action === "import") imports.push(record);
        progress.tick(walker.checked, record.seq);
      }
      file.complete = found === null;
    } catch (err) {
      if (!(err instanceof GzipError)) throw err;
      found = { id: null, seq: null, reason: `not a valid gzip file (${err.message})`, file: path, line: null };
    } finally {
      reader.close();
    }
    file.sha256 = reader.sha256();
    if (found) break;
  }
  progress.done();
  const checked = walker?.checked ?? 0;
  if (!found) {
    const uncovered = await uncoveredRow(imports, unchained);
    if (uncovered) found = { ...uncovered, file: null, line: null };
  }
  const lastSeq = checked > 0 ? walker!.lastSeq : null;
  return { organizationId, firstSeq: first?.seq ?? null, lastSeq, first, checked, unchained: unchained.size, found, files };
}

/** The first unchained row that no verified import record of the files covers as it was imported. */
export async function uncoveredRow(imports: AuditRecord[], unchained: Map<string, AuditRecord>): Promise<ChainBreak | null> {
  const covered = new Set<string>();
  for (const record of imports) {
    const statement = importStatementOf(record.metadata);
    if (!statement) continue;
    const broken = await importCoverageBreak(record, statement, (id) => unchained.get(id));
    if (broken) return broken;
    for (const id of statement.ids) covered.add(id);
  }
  const stray = [...unchained.keys()].find((id) => !covered.has(id));
  return stray === undefined ? null : { id: stray, seq: null, reason: "unchained row not covered by an import" };
}
