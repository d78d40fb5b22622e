import type { AuditRecord } from "../src/audit/chain/record";
import { type ReceiptClaim, receiptClaimOfRecords } from "../src/audit/chain/receipt";
import { fromBase64Url, toBase64Url } from "../src/crypto/encoding";
import { verifyEd25519 } from "../src/crypto/ed25519";
import { canonicalJson } from "../src/crypto/jcs";
import { exactObject, isObject, parseRecord, recordOf } from "./chain-walk";
import { readBytes, readJwks } from "./io";
import { duplicateMember } from "./member-names";
import { line } from "./verify-tree";

export type ReceiptOptions = { file: string; jwks: string; records: string[] };

type Receipt = ReceiptClaim & { kid: string; signature: string };

const STRING_MEMBERS = ["organization_id", "leaves_sha256", "recorded_at", "kid", "signature"] as const;
const MEMBERS: ReadonlySet<string> = new Set(["type", "first_seq", "last_seq", ...STRING_MEMBERS]);
/** The members the records must give again (docs/protocol.md §12); type, kid and signature are the receipt's own. */
const CLAIMED = ["organization_id", "first_seq", "last_seq", "recorded_at", "leaves_sha256"] as const;

/** The Chainproof-Receipt header value (base64url of the JCS text), or the JSON it decodes to. */
function parseReceipt(text: string): Receipt | string {
  let json = text.trim();
  if (!json.startsWith("{")) {
    if (!/^[A-Za-z0-9_-]+$/.test(json) || toBase64Url(fromBase64Url(json)) !== json) return "not base64url (the header value) nor JSON";
    try {
      json = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(fromBase64Url(json));
    } catch {
      return "the header value does not decode to UTF-8 text";
    }
  }
  const value = exactObject(json, MEMBERS);
  if (typeof value === "string") return value;
  if (value.type !== "chainproof.receipt.v1") return "type must be chainproof.receipt.v1";
  const notString = STRING_MEMBERS.filter((m) => typeof value[m] !== "string");
  if (notString.length > 0) return `${notString.join(", ")} must be strings`;
  if (![value.first_seq, value.last_seq].every((n) => Number.isSafeInteger(n) && (n as number) >= 1)) return "first_seq and last_seq must be positive integers";
  return value as Receipt;
}

/**
 * The records an append's answer gives for its receipt. A legacy import answers {"records":[…],
 * "import_record":{…}}: its receipt covers the import record, the one row it chains, while its
 * `records` are the unchained legacy rows, which are no leaves. Any other object is a batch's
 * {"records":[…]} or one record.
 */
function answerRecords(json: Record<string, unknown>): unknown[] {
  if (isObject(json.import_record)) return [json.import_record];
  return Array.isArray(json.records) ? json.records : [json];
}

/** --record files: a record, an array of them, an append's answer (a batch's, an import's), or JSONL; no member name written twice. */
async function readRecords(paths: string[]): Promise<AuditRecord[] | string> {
  const records: AuditRecord[] = [];
  for (const path of paths) {
    const text = (await readBytes(path, "record file")).toString("utf8");
    let values: unknown[];
    try {
      const json: unknown = JSON.parse(text);
      const duplicate = duplicateMember(text, json);
      if (duplicate) return `${path} is not a record file: ${duplicate}`;
      values = Array.isArray(json) ? json : isObject(json) ? answerRecords(json) : [json];
    } catch {
      values = [];
      for (const [i, lineText] of text.split("\n").entries()) {
        if (lineText.trim() === "") continue;
        const record = parseRecord(lineText);
        if (typeof record === "string") return `${path} line ${i + 1} is not a record: ${record}`;
        values.push(record);
      }
    }
    for (const [i, value] of values.entries()) {
      const record = recordOf(value);
      if (typeof record === "string") return `${path}: record ${i + 1} is not a record: ${record}`;
      records.push(record);
    }
  }
  return records;
}

/** What in the receipt the records do not give again, or the reason they cannot be compared. */
async function recordProblems(receipt: Receipt, records: AuditRecord[]): Promise<string[]> {
  if (records.length === 0) return ["the --record files hold no records"];
  const broken = records.findIndex((r, i) => r.seq === null || r.seq !== records[0]!.seq! + i);
  if (broken >= 0) return [`the records are not one run of consecutive seqs (record ${broken + 1} has seq ${records[broken]!.seq})`];
  const foreign = records.find((r) => r.organization_id !== records[0]!.organization_id);
  if (foreign) return [`the records belong to several organizations (${records[0]!.organization_id}, ${foreign.organization_id})`];
  const claim = (await receiptClaimOfRecords(records[0]!.organization_id, records))!;
  return CLAIMED.filter((m) => claim[m] !== receipt[m]).map((m) => `${m} differs: the receipt says ${receipt[m]}, the records give ${claim[m]}`);
}

/** verify-receipt: the Ed25519 signature with the JWKS key `kid`, then (with --record) the claim against the records. */
export async function verifyReceipt(options: ReceiptOptions): Promise<number> {
  const keys = await readJwks(options.jwks);
  const receipt = parseReceipt((await readBytes(options.file, "receipt")).toString("utf8"));
  if (typeof receipt === "string") return invalid([line("reason", `${options.file} is not a receipt: ${receipt}`)]);
  const records = options.records.length > 0 ? await readRecords(options.records) : null;

  const { signature, ...unsigned } = receipt;
  const key = keys.find((k) => k.kid === receipt.kid);
  const signed = key !== undefined && (await verifyEd25519(key, canonicalJson(unsigned), signature));
  const signatureProblem = !key
    ? `its key ${receipt.kid} is not in the JWKS`
    : signed
      ? null
      : `the signature does not verify (kid ${receipt.kid}): a member was changed, or another key made it`;
  const recordIssues = records === null ? [] : typeof records === "string" ? [records] : await recordProblems(receipt, records);
  const problems = [...(signatureProblem ? [signatureProblem] : []), ...recordIssues];
  const recordsText =
    records === null ? "not checked: pass --record FILE" : recordIssues.length > 0 ? "do not match the receipt (see below)" : `${(records as AuditRecord[]).length}, every member matches (leaves_sha256 included)`;

  const lines = [
    line("organization", receipt.organization_id),
    line("seq", `${receipt.first_seq}–${receipt.last_seq}`),
    line("recorded at", receipt.recorded_at),
    line("signature", signed ? `valid (kid ${receipt.kid})` : "INVALID"),
    line("records", recordsText),
  ];
  if (problems.length > 0) return invalid([...lines, ...problems.map((p) => line("reason", p))]);
  console.log(line("receipt", "VALID"));
  for (const text of lines) console.log(text);
  return 0;
}

function invalid(lines: string[]) {
  console.log(line("receipt", "INVALID"));
  for (const text of lines) console.log(text);
  return 1;
}
