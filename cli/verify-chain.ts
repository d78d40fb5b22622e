import { createHmac } from "node:crypto";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { type ChainBreak, ChainWalker, type RowHasher } from "../src/audit/chain/walker";
import { importCoverageBreak, importStatementOf } from "../src/audit/chain/legacy-import";
import { type Checkpoint, statementOf } from "../src/audit/chain/checkpoints";
import { type AuditRecord, RECORD_MEMBERS } from "../src/audit/chain/record";
import { verifyEd25519 } from "../src/crypto/ed25519";
import { type PublicJwk, readJson, readJwks, requireFile, UsageError } from "./io";
import { Progress } from "./progress";

const MEMBER_SET: ReadonlySet<string> = new Set(RECORD_MEMBERS);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const stringOrNull = (v: unknown) => v === null || typeof v === "string";

/** The record on one line, or what is wrong with it. Values are sealed as they are, so only the chain fields are typed here. */
function parseRecord(line: string): AuditRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not valid JSON";
  }
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

/** key_id(K) = hex(HMAC-SHA256(K, "chainproof key id"))[0..16] (docs/protocol.md §2), K = utf8(the key string). */
function keyring(keys: string[]) {
  const byId = new Map<string, Buffer>();
  for (const key of keys) {
    if (key === "") throw new UsageError("--key must not be empty");
    const bytes = Buffer.from(key, "utf8");
    byId.set(createHmac("sha256", bytes).update("chainproof key id").digest("hex").slice(0, 16), bytes);
  }
  const hasher: RowHasher = (keyId, message) => {
    const key = byId.get(keyId);
    return key ? createHmac("sha256", key).update(message, "utf8").digest("hex") : null;
  };
  return { ids: [...byId.keys()], hasher };
}

async function readCheckpoint(path: string): Promise<Checkpoint> {
  const c = await readJson(path, "checkpoint");
  const ok =
    isObject(c) &&
    typeof c.organization_id === "string" &&
    Number.isSafeInteger(c.seq) &&
    (c.seq as number) >= 1 &&
    ["row_hmac", "issued_at", "kind", "kid", "statement", "signature"].every((m) => typeof c[m] === "string");
  if (!ok) throw new UsageError(`checkpoint ${path} must be a checkpoint object as the API lists it (organization_id, seq, row_hmac, issued_at, kind, kid, statement, signature)`);
  return c as Checkpoint;
}

/** docs/protocol.md §6: the statement must be the one its fields imply, signed by a key of the JWKS. */
async function checkpointSignature(c: Checkpoint, keys: PublicJwk[]): Promise<string | null> {
  if (statementOf(c) !== c.statement) return "its statement does not match its fields";
  const key = keys.find((k) => k.kid === c.kid);
  if (!key) return `its key ${c.kid} is not in the JWKS`;
  return (await verifyEd25519(key, c.statement, c.signature)) ? null : "its signature does not verify";
}

type Found = { id: string | null; seq: number | null; reason: string; line: number | null };

type Walk = { organizationId: string | null; firstSeq: number | null; lastSeq: number | null; checked: number; unchained: number; found: Found | null };

/** Streams the file line by line (memory stays flat) through the same ChainWalker the API validates with. */
async function walkFile(path: string, hasher: RowHasher, checkpoint: Checkpoint | null): Promise<Walk> {
  let walker: ChainWalker | null = null;
  let found: Found | null = null;
  let organizationId: string | null = null;
  let firstSeq: number | null = null;
  // Unchained rows must be covered by an import record of the same file (docs/protocol.md, "Every row accounted for").
  const unchained = new Map<string, AuditRecord>();
  const imports: AuditRecord[] = [];
  let lineNo = 0;
  const progress = new Progress(process.stderr);
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === "") continue;
    const record = parseRecord(line);
    if (typeof record === "string") {
      found = { id: null, seq: null, reason: `malformed record: ${record}`, line: lineNo };
      break;
    }
    if (record.seq === null) {
      unchained.set(record.id, record);
      continue;
    }
    if (!walker) {
      organizationId = record.organization_id;
      firstSeq = record.seq;
      if (checkpoint && checkpoint.organization_id !== organizationId) {
        found = { id: record.id, seq: record.seq, reason: "checkpoint mismatch (the checkpoint belongs to another organization)", line: lineNo };
        break;
      }
      // A file that starts after genesis (a range export, or an archive after a prune) links from its first row.
      walker = new ChainWalker({ organizationId, seq: record.seq, prevHash: record.seq === 1 ? null : record.prev_hash }, hasher);
    }
    const broken = await walker.push(record, checkpoint?.seq === record.seq ? [checkpoint.row_hmac] : undefined);
    if (broken) {
      found = { ...broken, line: lineNo };
      break;
    }
    if (record.action === "import") imports.push(record);
    progress.tick(walker.checked, record.seq);
  }
  lines.close();
  progress.done();
  const checked = walker?.checked ?? 0;
  if (!found) {
    const uncovered = await uncoveredRow(imports, unchained);
    if (uncovered) found = { ...uncovered, line: null };
  }
  return { organizationId, firstSeq, lastSeq: checked > 0 ? walker!.lastSeq : null, checked, unchained: unchained.size, found };
}

/** The first unchained row that no verified import record of the file covers as it was imported. */
async function uncoveredRow(imports: AuditRecord[], unchained: Map<string, AuditRecord>): Promise<ChainBreak | null> {
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

export type ChainOptions = { file: string; keys: string[]; checkpoint?: string; jwks?: string };

/** verify-chain: returns the exit status, 0 valid, 1 invalid. */
export async function verifyChain(options: ChainOptions): Promise<number> {
  const { ids, hasher } = keyring(options.keys);
  await requireFile(options.file, "chain file");
  const checkpoint = options.checkpoint ? await readCheckpoint(options.checkpoint) : null;
  const jwks = options.jwks ? await readJwks(options.jwks) : null;

  if (checkpoint && jwks) {
    const problem = await checkpointSignature(checkpoint, jwks);
    if (problem) {
      console.log("chain:        INVALID");
      console.log(`checkpoint:   seq ${checkpoint.seq} is not authentic: ${problem}`);
      return 1;
    }
  }

  const walk = await walkFile(options.file, hasher, checkpoint);
  const { firstSeq, lastSeq } = walk;
  let found = walk.found;
  let note: string | null = null;
  if (!found && checkpoint) {
    if (lastSeq === null || checkpoint.seq > lastSeq) {
      const ends = lastSeq === null ? "has no chained rows" : `ends at seq ${lastSeq}`;
      const reason = `checkpoint mismatch (the file ${ends} but the signed checkpoint names seq ${checkpoint.seq}: the tail was cut)`;
      found = { id: null, seq: (lastSeq ?? checkpoint.seq - 1) + 1, reason, line: null };
    } else if (firstSeq !== null && checkpoint.seq < firstSeq) {
      note = `checkpoint seq ${checkpoint.seq} precedes the file's first row; it could not be checked`;
    }
  }

  console.log(`chain:        ${found ? "INVALID" : "VALID"}`);
  if (walk.organizationId) console.log(`organization: ${walk.organizationId}`);
  console.log(`rows:         ${walk.checked} verified${lastSeq !== null ? ` (seq ${firstSeq}–${lastSeq})` : ""}, ${walk.unchained} unchained`);
  if (firstSeq !== null) {
    console.log(
      firstSeq === 1
        ? "start:        genesis (seq 1, prev_hash null)"
        : `start:        seq ${firstSeq}: its prev_hash is trusted as the starting link (a range export, or a chain after a prune)`,
    );
  }
  console.log(`keys:         ${ids.join(", ")}`);
  if (checkpoint) {
    const signature = jwks ? `signature valid (kid ${checkpoint.kid})` : "signature not checked: pass --jwks FILE";
    console.log(`checkpoint:   seq ${checkpoint.seq}, ${signature}`);
  }
  if (note) console.log(`note:         ${note}`);
  if (found) {
    const where = [found.seq !== null ? `seq ${found.seq}` : null, found.id ? `id ${found.id}` : null, found.line !== null ? `line ${found.line}` : null];
    console.log(`first break:  ${where.filter(Boolean).join(", ")}: ${found.reason}`);
  }
  return found ? 1 : 0;
}
