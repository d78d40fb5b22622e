/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { ChainWalker } from "../src/audit/chain/walker";
import { statementOf } from "../src/audit/chain/checkpoint-statement";
import { signedDownloadPath } from "../src/audit/export/download-links";
import { isoTimestamp } from "../src/http/query";
import { type AuditRecord, canonicalRow } from "../src/audit/chain/record";
import { signReport } from "../src/compliance/report";
import { ed25519Signer, parsePrivateJwk, verifyEd25519 } from "../src/crypto/ed25519";
import { toHex, utf8 } from "../src/crypto/encoding";
import { hkdfSha256 } from "../src/crypto/hkdf";
import { hmacSha256Hex, importHmacKey } from "../src/crypto/hmac";
import { auditKeyId, reportVerificationKey } from "../src/crypto/keys";
import { signatureHeader } from "../src/security/webhooks";
import protocol from "../docs/protocol.md?raw";

// The worked example of docs/protocol.md §11, recomputed from its own inputs with the project's
// functions: if the code or the page changes, they must change together.
const EXAMPLE_BLOCK = /<!-- example: ([\w.-]+) -->\n```[^\n]*\n([\s\S]*?)\n```/g;
const examples = new Map([...protocol.matchAll(EXAMPLE_BLOCK)].map((m) => [m[1]!, m[2]!]));

function example(name: string): string {
  const text = examples.get(name);
  if (text === undefined) throw new Error(`docs/protocol.md has no block labelled "example: ${name}"`);
  return text;
}

const row = (n: number) => JSON.parse(example(`row-${n}`)) as AuditRecord;
const ORG = row(1).organization_id;

async function auditKeys() {
  const byId = new Map<string, CryptoKey>();
  for (const name of ["audit-key", "audit-key-2"]) byId.set(await auditKeyId(utf8(example(name))), await importHmacKey(example(name)));
  return byId;
}

describe("docs/protocol.md worked example", () => {
  it("has every block the page promises", () => {
    expect([...examples.keys()].sort()).toEqual(
      [
        "audit-key", "audit-key-2", "checkpoint", "checkpoint-key", "derived-audit-key", "derived-key-id", "download-link",
        "jwks", "key-id", "key-id-2", "report-file", "report-signing-key", "row-1", "row-1.canonical", "row-1.row_hmac",
        "row-2", "row-2.canonical", "row-2.row_hmac", "row-3", "row-3.canonical", "row-3.row_hmac", "secret-key",
        "timestamp-sent", "verification-key", "webhook", "webhook-secret",
      ].sort(),
    );
  });

  it("key ids of the audit keys and of the SECRET_KEY-derived fallback", async () => {
    expect(await auditKeyId(utf8(example("audit-key")))).toBe(example("key-id"));
    expect(await auditKeyId(utf8(example("audit-key-2")))).toBe(example("key-id-2"));
    const derived = await hkdfSha256(example("secret-key"), "chainproof", "audit-hmac-key", 32);
    expect(toHex(derived)).toBe(example("derived-audit-key"));
    expect(await auditKeyId(derived)).toBe(example("derived-key-id"));
  });

  it("each row's canonical bytes and row_hmac, its link to the row before, and the timestamp as normalized", async () => {
    const keys = await auditKeys();
    for (const n of [1, 2, 3]) {
      const record = row(n);
      expect(canonicalRow(record)).toBe(example(`row-${n}.canonical`));
      expect(record.prev_hash).toBe(n === 1 ? null : example(`row-${n - 1}.row_hmac`));
      const expected = await hmacSha256Hex(keys.get(record.key_id!)!, (record.prev_hash ?? "") + example(`row-${n}.canonical`));
      expect(expected).toBe(example(`row-${n}.row_hmac`));
      expect(record.row_hmac).toBe(expected);
    }
    expect(row(3).key_id).toBe(example("key-id-2"));
    expect(isoTimestamp.parse(example("timestamp-sent"))).toBe(row(1).timestamp);
  });

  it("the rows verify as one chain across the key rotation, and the old key is out of epoch after it", async () => {
    const keys = await auditKeys();
    const hasher = async (keyId: string, message: string) => {
      const key = keys.get(keyId);
      return key ? hmacSha256Hex(key, message) : null;
    };
    const walker = new ChainWalker({ organizationId: ORG, seq: 1, prevHash: null }, hasher);
    for (const n of [1, 2, 3]) expect(await walker.push(row(n))).toBeNull();
    expect(walker.checked).toBe(3);

    const unsealed = { ...row(2), id: crypto.randomUUID(), seq: 4, prev_hash: example("row-3.row_hmac") };
    const late = { ...unsealed, row_hmac: await hmacSha256Hex(keys.get(example("key-id"))!, unsealed.prev_hash + canonicalRow(unsealed)) };
    expect(await walker.push(late)).toEqual({ id: late.id, seq: 4, reason: "key_id out of epoch" });
  });

  it("the checkpoint's statement and Ed25519 signature, and the JWKS with its RFC 7638 kid", async () => {
    const signer = await ed25519Signer(parsePrivateJwk(example("checkpoint-key")));
    expect(JSON.stringify({ keys: [signer.publicJwk] })).toBe(example("jwks"));
    const checkpoint = JSON.parse(example("checkpoint")) as Parameters<typeof statementOf>[0] & { kid: string; statement: string; signature: string };
    expect(checkpoint.kid).toBe(signer.kid);
    expect(checkpoint.row_hmac).toBe(example("row-3.row_hmac"));
    expect(statementOf(checkpoint)).toBe(checkpoint.statement);
    expect(await signer.sign(checkpoint.statement)).toBe(checkpoint.signature);
    expect(await verifyEd25519(signer.publicJwk, checkpoint.statement, checkpoint.signature)).toBe(true);
  });

  it("the report's verification key and the signed file, byte for byte", async () => {
    const verificationKey = await reportVerificationKey(utf8(example("report-signing-key")), ORG);
    expect(verificationKey).toBe(example("verification-key"));
    const file = example("report-file");
    const reportBytes = file.slice(file.indexOf('"report":') + '"report":'.length, file.indexOf(',"signature"'));
    const signer = await ed25519Signer(parsePrivateJwk(example("checkpoint-key")));
    const signed = await signReport(JSON.parse(reportBytes), verificationKey, signer);
    expect(signed.reportBytes).toBe(reportBytes);
    expect(signed.body).toBe(file);
  });

  it("the download link and the webhook signature", async () => {
    const link = example("download-link");
    const [, id, expires] = /^\/api\/v1\/audit\/exports\/([0-9a-f-]+)\/download\?expires=(\d+)&sig=/.exec(link)!;
    expect(await signedDownloadPath(example("secret-key"), "/api/v1/audit/exports", id!, Number(expires))).toBe(link);

    const [header, body] = example("webhook").split("\n\n") as [string, string];
    const t = Number(/t=(\d+),/.exec(header)![1]);
    expect(`X-Chainproof-Signature: ${await signatureHeader(example("webhook-secret"), t, body)}`).toBe(header);
  });
});
