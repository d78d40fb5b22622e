import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { chainOf as chainObjectOf } from "../src/audit/chain/append";
import { publicKeys } from "../src/audit/chain/checkpoints";
import { sealAfter } from "../src/audit/chain/seal";
import { insertRowStatements, type ChainHead } from "../src/audit/chain/store";
import { treeSize } from "../src/audit/chain/tree-store";
import { loadAuditKeyring } from "../src/crypto/keys";
import { fromHex, toHex } from "../src/crypto/encoding";
import { CompactRange } from "../src/crypto/merkle/compact-range";
import { leafHashOfCanonical } from "../src/crypto/merkle/hash";
import { verifyTreeHead } from "../src/crypto/merkle/tree-head";
import { canonicalRow, type AuditRecord } from "../src/audit/chain/record";
import { inclusionProof } from "../src/audit/chain/tree-proofs";
import { pruneOrganizationChain } from "../src/audit/retention/prune";
import { database } from "../src/db/client";
import type { Env } from "../src/env";
import { verifyInclusion } from "../src/crypto/merkle/verify";
import { api, appendRecord, chainRows, createTenant, recordBody, sql } from "./helpers";

const ROWS = 100_000;

/**
 * A chain as it was before trees existed: `n` rows sealed as the chain object seals them, straight
 * into D1, no tiles. Answers the root an auditor computes from those rows.
 */
async function seedChainWithoutTree(orgId: string, n: number, at = new Date().toISOString()) {
  const keyring = await loadAuditKeyring(env);
  const range = new CompactRange(0, []);
  let head: ChainHead | null = null;
  for (let done = 0; done < n; done += 5000) {
    const pending = Array.from({ length: Math.min(5000, n - done) }, (_, i) => ({
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

describe("rows pruned before their tree existed", () => {
  it("are read back from their archives, checked against the anchor's digest", { timeout: 120_000 }, async () => {
    const tenant = await createTenant("FREE");
    const orgId = tenant.org.id;
    const aged = new Date(Date.now() - 400 * 24 * 60 * 60 * 1000).toISOString();
    const auditor = await seedChainWithoutTree(orgId, 30, aged);
    const enforcing = { ...env, ENFORCE_ORG_QUOTAS: "true" } as Env;
    await pruneOrganizationChain({ db: database(env.DB), env: enforcing }, await loadAuditKeyring(env), orgId, new Date().toISOString(), { rows: 1000, until: Date.now() + 60_000 });
    const live = await chainRows(orgId);
    expect(live.map((r) => [r.seq, r.action])).toEqual([[31, "retention_prune"]]);
    // The pruned rows' leaves stay in the tree: the kept row's proof verifies against a signed head.
    const kept = await api(`/api/v1/audit/logs/${live[0]!.id}/proof`, { as: tenant.admin.as });
    expect(kept.status).toBe(200);
    const keptHead = await verifyTreeHead(kept.json.checkpoint, await publicKeys(env));
    if (!keptHead.ok) throw new Error(keptHead.reason);
    expect(keptHead.head.size).toBe(31);
    expect(await verifyInclusion(30, 31, fromHex(kept.json.leaf_hash), kept.json.inclusion.map(fromHex), keptHead.head.root)).toBe(true);
    // …and the prune checkpoint's tree head (size 30) is consistent with it.
    const prunedHead = await api(`/api/v1/audit/proofs/consistency?first=30&second=31`, { as: tenant.admin.as });
    expect(prunedHead.status).toBe(200);

    // As if the prune had happened before this release: no tiles, no tree heads.
    await sql("DELETE FROM merkle_tiles WHERE organization_id = ?", orgId);
    await sql("UPDATE checkpoints SET tree_head = NULL WHERE organization_id = ?", orgId);
    await env.ARCHIVE.delete(`checkpoints/${orgId}/tree-head.txt`);
    const chain = chainObjectOf(env, orgId);
    expect(await chain.buildTree(orgId, 60_000)).toEqual({ tree_size: 31, complete: true });
    const prune = (await api(`/api/v1/audit/logs/${live[0]!.id}`, { as: tenant.admin.as })).json as AuditRecord;
    await auditor.append(await leafHashOfCanonical(canonicalRow(prune)), () => {});

    const head = await api(`/api/v1/audit/tree-head`, { as: tenant.admin.as });
    expect(head.json.tree_size).toBe(31);
    expect(head.json.root_hash).toBe(toHex(await auditor.root()));
    const proof = await inclusionProof(env.DB, orgId, 30, 31);
    expect(await verifyInclusion(30, 31, proof.leafHash, proof.path, await auditor.root())).toBe(true);

    // An archive that is not what its anchor sealed builds nothing.
    await sql("DELETE FROM merkle_tiles WHERE organization_id = ?", orgId);
    const [archive] = (await env.ARCHIVE.list({ prefix: `archives/${orgId}/` })).objects.filter((o) => o.key.endsWith(".jsonl.gz"));
    const bytes = new Uint8Array(await (await env.ARCHIVE.get(archive!.key))!.arrayBuffer());
    await env.ARCHIVE.put(archive!.key, bytes.slice(0, -1));
    const failure = await chain.buildTree(orgId, 60_000).then(() => null, (err: unknown) => err);
    expect(String(failure)).toMatch(/archive|gzip|decompress|unexpected end/i);
    expect(await treeSize(env.DB, orgId)).toBe(0);
    await env.ARCHIVE.put(archive!.key, bytes);
  });
});
