import { describe, expect, it } from "vitest";
import { anchorIsAuthentic, anchorStatement, sealAnchor } from "../src/audit/chain/anchor";
import { pruneThrough, retentionCutoff } from "../src/audit/retention/policy";
import { hmacHex } from "./helpers";

const at = (iso: string) => Date.parse(iso);

describe("retention policy", () => {
  it("cuts each tier's days off the pass's start, and never for UNLIMITED", () => {
    const now = at("2026-12-02T03:17:00.000Z");
    expect(retentionCutoff("FREE", now)).toBe("2026-11-25T03:17:00.000Z");
    expect(retentionCutoff("STARTER", now)).toBe("2026-11-02T03:17:00.000Z");
    expect(retentionCutoff("PROFESSIONAL", now)).toBe("2026-09-03T03:17:00.000Z");
    expect(retentionCutoff("ENTERPRISE", now)).toBe("2025-12-02T03:17:00.000Z");
    expect(retentionCutoff("UNLIMITED", now)).toBeNull();
  });

  const row = (seq: number, recordedAt: string, bytes = 100) => ({ seq, recordedAt, bytes });
  const cutoff = "2026-11-25T00:00:00.000Z";

  it("takes the longest prefix by seq recorded before the cutoff", () => {
    const rows = [row(5, "2026-11-01T00:00:00.000Z"), row(6, "2026-11-24T23:59:59.999Z"), row(7, cutoff), row(8, "2026-11-01T00:00:00.000Z")];
    expect(pruneThrough(rows, 5, cutoff, 1e9)).toBe(6);
  });

  it("prunes nothing when the first row is recent, or when there are none", () => {
    expect(pruneThrough([row(1, "2026-11-30T00:00:00.000Z"), row(2, "2026-11-01T00:00:00.000Z")], 1, cutoff, 1e9)).toBeNull();
    expect(pruneThrough([], 1, cutoff, 1e9)).toBeNull();
  });

  it("stops at a missing seq: the walk that archives the rows reports the gap", () => {
    expect(pruneThrough([row(1, "2026-11-01T00:00:00.000Z"), row(3, "2026-11-01T00:00:00.000Z")], 1, cutoff, 1e9)).toBe(1);
    expect(pruneThrough([row(2, "2026-11-01T00:00:00.000Z")], 1, cutoff, 1e9)).toBeNull();
  });

  it("bounds an archive by bytes, but always takes at least one row", () => {
    const old = "2026-11-01T00:00:00.000Z";
    expect(pruneThrough([row(1, old, 60), row(2, old, 60), row(3, old, 60)], 1, cutoff, 130)).toBe(2);
    expect(pruneThrough([row(1, old, 500), row(2, old, 60)], 1, cutoff, 130)).toBe(1);
  });
});

describe("prune anchors", () => {
  const fields = {
    organization_id: "0f5c2a9e-4b1d-4c7e-9a3f-2d6b8e1c7a50",
    pruned_through_seq: 16,
    row_hmac: "ecc039d7188a6a8401762f89d83e9f01c958287182d7092cd8f10d1b3319ebfa",
    pruned_count: 19,
    archive_key: "archives/0f5c2a9e-4b1d-4c7e-9a3f-2d6b8e1c7a50/1-16.jsonl.gz",
    archive_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    created_at: "2026-12-02T03:17:04.512Z",
    key_id: "1f2e3d4c5b6a7988",
  };
  const keyBytes = new TextEncoder().encode("example-audit-key");
  const importKey = () => crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

  it("seals the JCS of the nine members with the audit key", async () => {
    expect(anchorStatement(fields)).toBe(
      '{"archive_key":"archives/0f5c2a9e-4b1d-4c7e-9a3f-2d6b8e1c7a50/1-16.jsonl.gz","archive_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",' +
        '"created_at":"2026-12-02T03:17:04.512Z","key_id":"1f2e3d4c5b6a7988","organization_id":"0f5c2a9e-4b1d-4c7e-9a3f-2d6b8e1c7a50","pruned_count":19,' +
        '"pruned_through_seq":16,"row_hmac":"ecc039d7188a6a8401762f89d83e9f01c958287182d7092cd8f10d1b3319ebfa","type":"chainproof.anchor.v1"}',
    );
    const anchor = await sealAnchor(fields, await importKey());
    expect(anchor).toEqual({ type: "chainproof.anchor.v1", ...fields, anchor_hmac: await hmacHex("example-audit-key", anchorStatement(fields)) });
  });

  it("is authentic only unchanged and under the key it names", async () => {
    const anchor = await sealAnchor(fields, await importKey());
    const keys = new Map([[fields.key_id, await importKey()]]);
    expect(await anchorIsAuthentic(anchor, keys)).toBe(true);
    expect(await anchorIsAuthentic({ ...anchor, pruned_count: 20 }, keys)).toBe(false);
    expect(await anchorIsAuthentic({ ...anchor, row_hmac: "0".repeat(64) }, keys)).toBe(false);
    expect(await anchorIsAuthentic({ ...anchor, key_id: "0000000000000000" }, keys)).toBe(false);
    expect(await anchorIsAuthentic(anchor, new Map())).toBe(false);
  });
});
