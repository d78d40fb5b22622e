import { canonicalJson } from "../../crypto/jcs";
import { toBase64Url, toHex, utf8 } from "../../crypto/encoding";
import { leafHashOfCanonical } from "../../crypto/merkle/hash";
import { type AuditRecord, canonicalRow } from "./record";

/** What a write receipt states (docs/protocol.md §12), before it is signed. */
export type ReceiptClaim = {
  type: "chainproof.receipt.v1";
  organization_id: string;
  first_seq: number;
  last_seq: number;
  leaves_sha256: string;
  recorded_at: string;
};

export async function receiptClaim(organizationId: string, records: readonly AuditRecord[], leaves: readonly Uint8Array[]): Promise<ReceiptClaim | null> {
  if (records.length === 0 || records[0]!.seq === null) return null;
  const joined = new Uint8Array(leaves.length * 32);
  leaves.forEach((leaf, i) => joined.set(leaf, i * 32));
  return {
    type: "chainproof.receipt.v1",
    organization_id: organizationId,
    first_seq: records[0]!.seq,
    last_seq: records.at(-1)!.seq!,
    leaves_sha256: toHex(await crypto.subtle.digest("SHA-256", joined)),
    recorded_at: records[0]!.recorded_at,
  };
}

/** The claim of records read back (an Idempotency-Key replay): their leaves recomputed from their bytes. */
export const receiptClaimOfRecords = async (organizationId: string, records: readonly AuditRecord[]) =>
  receiptClaim(organizationId, records, await Promise.all(records.map((r) => leafHashOfCanonical(canonicalRow(r)))));

/** The `Chainproof-Receipt` header: base64url of the JCS text of the claim with kid and signature. */
export async function signedReceipt(claim: ReceiptClaim, signer: { kid: string; sign(data: string): Promise<string> }): Promise<string> {
  const unsigned = { ...claim, kid: signer.kid };
  const signature = await signer.sign(canonicalJson(unsigned));
  return toBase64Url(utf8(canonicalJson({ ...unsigned, signature })));
}
