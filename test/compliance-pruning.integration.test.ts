// The compliance report's audit_log block after pruning and scheduled validation (README.md, "Compliance reports"
// and "Every row accounted for"): the first three members stay first; the prune totals and the last scheduled run follow.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, createTenant, getSuperAdmin, sha256Hex, sql } from "./helpers";
import { getReport, getVerificationKey, thirdPartyVerify } from "./compliance-helpers";
import { blockIds, orgWithRows, runPass, runsOf } from "./scheduled-helpers";

/** A prune anchor row as the retention job stores it; the report reads only its totals. */
const plantAnchor = (orgId: string, throughSeq: number, prunedCount: number, createdAt: string) =>
  sql(
    "INSERT INTO prune_anchors (id, organization_id, archive_id, pruned_through_seq, row_hmac, pruned_count, archive_key, archive_sha256, created_at, key_id, statement, anchor_hmac) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'k1', '{}', ?)",
    crypto.randomUUID(),
    orgId,
    crypto.randomUUID(),
    throughSeq,
    "ab".repeat(32),
    prunedCount,
    `archives/${orgId}/1-${throughSeq}.jsonl.gz`,
    "cd".repeat(32),
    createdAt,
    "ef".repeat(32),
  );

describe("compliance report: pruning and scheduled validation", () => {
  it("without a prune or a run: pruned_count 0, pruned_through_seq and last_scheduled_validation null", async () => {
    const t = await createTenant();
    const res = await getReport(t.member.as, t.org.id);
    expect(res.status).toBe(200);
    const log = res.json.report.audit_log;
    expect(Object.keys(log)).toEqual([
      "retention_policy", "oldest_entry_at", "entry_count", "tail_protected", "retention_enforced", "pruned_count", "pruned_through_seq",
      "unchained_count", "first_seq", "head_seq", "head_row_hmac", "last_checkpoint", "last_scheduled_validation",
    ]);
    expect(log).toMatchObject({ pruned_count: 0, pruned_through_seq: null, last_scheduled_validation: null });
  });

  it("shows the newest prune anchor's count and last seq", async () => {
    const t = await createTenant();
    await plantAnchor(t.org.id, 40, 40, "2026-01-01T03:17:00.000Z");
    await plantAnchor(t.org.id, 90, 100, "2026-01-02T03:17:00.000Z");
    const other = await createTenant();
    await plantAnchor(other.org.id, 500, 500, "2026-01-03T03:17:00.000Z");

    const res = await getReport(t.member.as, t.org.id);
    expect(res.status).toBe(200);
    expect(res.json.report.audit_log).toMatchObject({ pruned_count: 100, pruned_through_seq: 90 });
    expect(await thirdPartyVerify(res.text, (await getVerificationKey(t.admin.as, t.org.id)).json.key)).toBe(true);
  });

  it("names the newest scheduled run, bound to its evidence by the SHA-256 of the bytes in R2, and still verifies", async () => {
    const [id] = blockIds(1) as [string];
    const t = await orgWithRows(id, 3);
    await runPass(id);
    const [run] = await runsOf(id);
    const evidence = await env.ARCHIVE.get(run!.evidence_key);
    const digest = await sha256Hex(await evidence!.arrayBuffer());

    const res = await getReport(t.member.as, id);
    expect(res.status).toBe(200);
    expect(res.json.report.audit_log.last_scheduled_validation).toEqual({
      run_id: run!.id,
      kind: "full",
      finished_at: run!.finished_at,
      valid: true,
      broken_reason: null,
      evidence_key: `evidence/${id}/${run!.id}.json`,
      evidence_sha256: digest,
    });
    // The same digest in the runs listing.
    const list = await api(`/api/v1/audit/validation-runs?organization_id=${id}`, { as: (await getSuperAdmin()).as });
    expect(list.json.items[0]).toMatchObject({ id: run!.id, evidence_sha256: digest });

    expect(await thirdPartyVerify(res.text, (await getVerificationKey(t.admin.as, id)).json.key)).toBe(true);
    const verdict = await api("/api/v1/compliance/verify", { method: "POST", as: t.member.as, rawBody: res.text, headers: { "Content-Type": "application/json" } });
    expect(verdict.status).toBe(200);
    expect(verdict.json).toMatchObject({ valid: true, hmac_valid: true, attestation_valid: true });
  });
});
