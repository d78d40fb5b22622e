import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chainOf as chainObjectOf } from "../src/audit/chain/append";
import { publicKeys } from "../src/audit/chain/checkpoints";
import { sealAfter } from "../src/audit/chain/seal";
import { insertRowStatements, type ChainHead } from "../src/audit/chain/store";
import { treeSize } from "../src/audit/chain/tree-store";
import { loadAuditKeyring } from "../src/crypto/keys";
import { toHex } from "../src/crypto/encoding";
import { CompactRange } from "../src/crypto/merkle/compact-range";
import { leafHashOfCanonical } from "../src/crypto/merkle/hash";
import { verifyTreeHead } from "../src/crypto/merkle/tree-head";
import { canonicalRow, type AuditRecord } from "../src/audit/chain/record";
import { api, appendRecord, createTenant, recordBody, sql } from "./helpers";

const ROWS = 100_000;

/**
 * A chain as it was before trees existed: `n` rows sealed as the chain object seals them, straight
 * into D1, no tiles. Answers the root an auditor computes from those rows.
 */
async function seedChainWithoutTree(orgId: string, n: number) {
  const keyring = await loadAuditKeyring(env);
  const range = new CompactRange(0, []);
  let head: ChainHead | null = null;
  const at = new Date().toISOString();
  for (let done = 0; done < n; done += 5000) {
    const pending = Array.from({ length: 5000 }, (_, i) => ({
      ...recordBody({ metadata: { i: done + i } }),
      id: crypto.randomUUID(),
      organization_id: orgId,
      site_id: null,
      previous_state: null,
      new_state: null,
      timestamp: at,
    })) as Parameters<typeof sealAfter>[4][0];
    const sealed = await sealAfter(head, keyring.current, orgId, at, [pending]);
    await env.DB.batch(insertRowStatements(env.DB, sealed.rows));
    for (const leaf of sealed.leaves) await range.append(leaf, () => {});
    head = sealed.head;
  }
  return range;
}

describe("building the tree of a chain sealed before trees existed", () => {
  it("100,000 rows: interrupted by a failing write, resumed where it stopped; appends go on meanwhile", { timeout: 600_000 }, async () => {
    const tenant = await createTenant();
    const orgId = tenant.org.id;
    const auditor = await seedChainWithoutTree(orgId, ROWS);
    expect(await treeSize(env.DB, orgId)).toBe(0);

    // A D1 failure half-way: the write of the 201st leaf tile (leaves 51,200…51,455) is refused.
    const trigger = `tiles_fail_${orgId.replace(/-/g, "")}`;
    await sql(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON merkle_tiles
       WHEN NEW.organization_id = '${orgId}' AND NEW.level = 0 AND NEW.tile_index = 200
       BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
    const chain = chainObjectOf(env, orgId);
    const failure = await chain.buildTree(orgId, 600_000).then(
      () => null,
      (err: unknown) => err,
    );
    expect(String(failure)).toMatch(/injected failure/);
    // Every step before the failing one committed: 25 steps of 2,000 rows.
    expect(await treeSize(env.DB, orgId)).toBe(50_000);

    // Meanwhile the chain takes appends (the tree catches up on them later) and says it is building.
    const during = await appendRecord(tenant.ingest.as, recordBody());
    expect(during.status).toBe(201);
    expect(during.json.seq).toBe(ROWS + 1);
    const building = await api(`/api/v1/audit/tree-head`, { as: tenant.admin.as });
    expect(building.status).toBe(503);
    expect(building.json.error.code).toBe("tree_building");
    expect(building.headers.get("Retry-After")).toBe("10");

    await sql(`DROP TRIGGER ${trigger}`);
    expect(await chain.buildTree(orgId, 600_000)).toEqual({ tree_size: ROWS + 1, complete: true });
    await auditor.append(await leafHashOfCanonical(canonicalRow(during.json as AuditRecord)), () => {});

    const head = await api(`/api/v1/audit/tree-head`, { as: tenant.admin.as });
    expect(head.status).toBe(200);
    expect(head.json.tree_size).toBe(ROWS + 1);
    expect(head.json.root_hash).toBe(toHex(await auditor.root()));
    expect((await verifyTreeHead(head.json.checkpoint, await publicKeys(env))).ok).toBe(true);
    // From here on the appends grow the tree themselves.
    const after = await appendRecord(tenant.ingest.as, recordBody());
    expect(await treeSize(env.DB, orgId)).toBe(after.json.seq);
  });
});
