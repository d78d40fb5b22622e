import { execFile } from "node:child_process";
import { createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { type AuditRecord, canonicalRow } from "../../src/audit/chain/record";
import { assembleReport, signReport } from "../../src/compliance/report";
import { ed25519Signer, parsePrivateJwk } from "../../src/crypto/ed25519";

const CLI = fileURLToPath(new URL("../../cli/chainproof.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export type Ran = { code: number; stdout: string; stderr: string };

/** Runs a program (from the project's root unless told) and collects its exit code and output. */
export function runProgram(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, ...options, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Runs the real CLI as a user would. */
export const run = (...args: string[]) => runProgram(process.execPath, [CLI, ...args]);

/** The output's lines, so a test can ask for one exact line. */
export const linesOf = (output: string) => output.split("\n");

// Each case spawns the real CLI (about half a second apiece on a loaded machine).
export const slow = { timeout: 60_000 };

/** A temporary directory for the calling test file, removed after it. */
export function tempDir() {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "chainproof-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const inDir = (name: string) => join(dir, name);
  return {
    inDir,
    file: async (name: string, content: string) => {
      await writeFile(inDir(name), content);
      return inDir(name);
    },
  };
}

export type Signer = Awaited<ReturnType<typeof ed25519Signer>>;

export const newSigner = async (): Promise<Signer> =>
  ed25519Signer(parsePrivateJwk(JSON.stringify(generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }))));

/**
 * A compliance report body exactly as the Worker signs it (attestation included) for `orgId`, with
 * the report key `key`, and the JWKS that verifies its attestation.
 */
export async function signedReportBody(orgId: string, key: string, anchorHmac: string) {
  const signer = await newSigner();
  const report = assembleReport({
    organization: { id: orgId, name: "Acme GmbH — Zürich & Köln", tier: "ENTERPRISE" },
    generatedAt: "2026-03-01T12:00:00.000Z",
    services: [],
    lastBackups: new Map(),
    chain: prunedChainCoverage(orgId, anchorHmac),
    retentionEnforced: false,
    lastCheckpoint: null,
    tailProtected: true,
  });
  return { body: (await signReport(report, key, signer)).body, jwks: JSON.stringify({ keys: [signer.publicJwk] }) };
}

/**
 * What an org_admin can make without chainproof: the report bytes of `body` with `from` replaced by `to`, with a
 * fresh HMAC under the organization's verification key `key` (which org_admins can fetch), and the
 * genuine report's attestation kept as it was, or dropped.
 */
export function forgeReport(body: string, key: string, [from, to]: [string, string], attestation: "keep" | "drop"): string {
  const genuine = body.slice(body.indexOf('"report":') + '"report":'.length, body.indexOf(',"signature"'));
  const reportBytes = genuine.replace(from, to);
  // A forgery that changed nothing would test the genuine report.
  if (reportBytes === genuine) throw new Error(`the report does not hold ${from}`);
  const value = createHmac("sha256", key).update(reportBytes, "utf8").digest("hex");
  const kept = attestation === "keep" ? `,"attestation":${JSON.stringify(JSON.parse(body).attestation)}` : "";
  return `{"report":${reportBytes},"signature":{"algorithm":"HMAC-SHA256","value":"${value}"}${kept}}`;
}

/**
 * A signer and two JWKS files for the calling test file, made before its tests: `jwksPath`
 * publishes the signer's key, `otherJwksPath` another key under the same kid (a forgery).
 */
export function signerWithJwks(file: (name: string, content: string) => Promise<string>) {
  const fixture = { signer: undefined as unknown as Signer, jwksPath: "", otherJwksPath: "" };
  beforeAll(async () => {
    fixture.signer = await newSigner();
    fixture.jwksPath = await file("jwks.json", JSON.stringify({ keys: [fixture.signer.publicJwk] }));
    fixture.otherJwksPath = await file("other-jwks.json", JSON.stringify({ keys: [{ ...(await newSigner()).publicJwk, kid: fixture.signer.kid }] }));
  });
  return fixture;
}

export const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

/** The key id of docs/protocol.md §1, computed with node:crypto. */
export const keyId = (key: string) => createHmac("sha256", key).update("chainproof key id").digest("hex").slice(0, 16);

/**
 * `n` rows of organization `org` sealed per docs/protocol.md §1 with node:crypto over the project's
 * canonicalRow; `keyFor(seq)` picks the key (rotation), `shape(seq)` overrides members.
 */
export function sealChain(n: number, options: { org: string; keyFor: (seq: number) => string; shape?: (seq: number) => Partial<AuditRecord> }): AuditRecord[] {
  const rows: AuditRecord[] = [];
  let prev: string | null = null;
  for (let seq = 1; seq <= n; seq++) {
    const key = options.keyFor(seq);
    const at = new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString();
    const unsealed: Omit<AuditRecord, "row_hmac"> = {
      id: randomUUID(), organization_id: options.org, seq, site_id: null, actor_id: randomUUID(), action: "update",
      resource_type: "device", resource_id: randomUUID(), status: "success", ip_address: "203.0.113.9",
      user_agent: "platform/1.0", changes: { hostname: { old: `a${seq}`, new: `b${seq}` } }, previous_state: null, new_state: null,
      metadata: { n: seq, note: "é ✓" }, timestamp: at, recorded_at: at, key_id: keyId(key), prev_hash: prev,
      ...options.shape?.(seq),
    };
    const row_hmac: string = createHmac("sha256", key).update((prev ?? "") + canonicalRow(unsealed), "utf8").digest("hex");
    rows.push({ ...unsealed, row_hmac });
    prev = row_hmac;
  }
  return rows;
}

/** A legacy (unchained) row of organization `org`, as an import brings it in. */
export const legacyRow = (org: string, metadata: Record<string, unknown> = {}): AuditRecord => ({
  id: randomUUID(), organization_id: org, seq: null, site_id: null, actor_id: randomUUID(), action: "login", resource_type: "user",
  resource_id: null, status: "success", ip_address: null, user_agent: null, changes: null, previous_state: null, new_state: null,
  metadata, timestamp: "2020-01-01T00:00:00.000Z", recorded_at: "2020-01-01T00:00:00.000Z", key_id: null, prev_hash: null, row_hmac: null,
});

/** The chain coverage of a pruned chain with a scheduled run: what the report's audit_log block adds after its first three members. */
export const prunedChainCoverage = (orgId: string, headRowHmac: string) => ({
  entryCount: 3,
  unchainedCount: 0,
  first: { seq: 121, recordedAt: "2026-01-01T00:00:00.000Z" },
  head: { seq: 123, rowHmac: headRowHmac },
  pruned: { count: 120, throughSeq: 120 },
  lastValidation: {
    id: "run-1",
    organizationId: orgId,
    kind: "full" as const,
    startedAt: "2026-03-01T03:17:00.000Z",
    finishedAt: "2026-03-01T03:17:01.000Z",
    result: { valid: false, broken_reason: "row_hmac mismatch" },
    evidenceKey: `evidence/${orgId}/run-1.json`,
    evidenceSha256: "0f".repeat(32),
  },
});
