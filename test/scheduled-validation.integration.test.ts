import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SYSTEM_ACTOR_ID } from "../src/audit/chain/seal";
import { continueValidationPass } from "../src/ops/scheduled-validation";
import { api, appendBatch, chainRows, db, getSuperAdmin, recordBody, sha256Hex, sql, utf8 } from "./helpers";
import { blockIds, DAY_MS, orgWithRows, runPass, runsOf, seedPass, weekday } from "./scheduled-helpers";

describe("scheduled validation", () => {
  it("stores a valid chain's run in D1 with its evidence in R2, lists it and serves the evidence by signed link", async () => {
    const [id] = blockIds(1) as [string];
    const tenant = await orgWithRows(id, 5);
    await runPass(id);

    const runs = await runsOf(id);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run).toMatchObject({ kind: "full", evidence_key: `evidence/${id}/${run.id}.json` });
    expect(run.result).toMatchObject({ organization_id: id, valid: true, checked: 5, first_seq: 1, last_seq: 5, complete: true, broken_at: null });

    // The walk is audited in the chain by the scheduler, and the head after it is signed.
    const chain = await chainRows(id);
    expect(chain).toHaveLength(6);
    expect(chain[5]).toMatchObject({ action: "chain_validate", actor_id: SYSTEM_ACTOR_ID });
    expect(JSON.parse(chain[5]!.metadata)).toMatchObject({ via: "scheduler", valid: true, checked: 5, start_id: null });

    const stored = await env.ARCHIVE.get(run.evidence_key);
    const evidenceText = await stored!.text();
    const evidence = JSON.parse(evidenceText);
    expect(evidence).toMatchObject({
      run_id: run.id,
      organization_id: id,
      kind: "full",
      started_at: run.started_at,
      finished_at: run.finished_at,
      checked: { from_seq: 1, to_seq: 5, rows: 5 },
      result: run.result,
      head_checkpoint: { organization_id: id, seq: 6, row_hmac: chain[5]!.row_hmac, kind: "head" },
    });

    const sa = (await getSuperAdmin()).as;
    const list = await api(`/api/v1/audit/validation-runs?organization_id=${id}`, { as: sa });
    expect(list.status).toBe(200);
    expect(list.json.items).toHaveLength(1);
    const item = list.json.items[0];
    expect(item).toEqual({
      id: run.id,
      organization_id: id,
      kind: "full",
      started_at: run.started_at,
      finished_at: run.finished_at,
      result: run.result,
      evidence_url: expect.stringMatching(new RegExp(`^https://chainproof\\.test/api/v1/audit/validation-runs/${run.id}/download\\?expires=\\d+&sig=`)),
      // Bound to the stored bytes: the digest of exactly what R2 holds.
      evidence_sha256: await sha256Hex(utf8(evidenceText)),
    });
    expect(run.evidence_sha256).toBe(item.evidence_sha256);

    const download = await exports.default.fetch(new Request(item.evidence_url));
    expect(download.status).toBe(200);
    expect(download.headers.get("Content-Type")).toBe("application/json");
    expect(await download.text()).toBe(evidenceText);
    // One character of the signature changed (to another one: a signature may start with "A" already).
    const altered = await exports.default.fetch(new Request(item.evidence_url.replace(/sig=(.)/, (_: string, c: string) => `sig=${c === "A" ? "B" : "A"}`)));
    expect(altered.status).toBe(403);

    // Only a super_admin lists runs; an unknown organization is a 404, a bad limit a 422.
    expect((await api(`/api/v1/audit/validation-runs?organization_id=${id}`, { as: tenant.admin.as })).status).toBe(403);
    expect((await api(`/api/v1/audit/validation-runs?organization_id=${crypto.randomUUID()}`, { as: sa })).status).toBe(404);
    const badLimit = await api("/api/v1/audit/validation-runs?limit=101", { as: sa });
    expect(badLimit.status).toBe(422);
  });

  it("the next daily run is incremental: it checks only the rows after the last verified one", async () => {
    const [id] = blockIds(1) as [string];
    const tenant = await orgWithRows(id, 5);
    await runPass(id);
    expect((await appendBatch(tenant.ingest.as, [recordBody(), recordBody(), recordBody()])).status).toBe(201);
    await runPass(id);

    const runs = await runsOf(id);
    expect(runs.map((r) => [r.kind, r.result.checked, r.result.first_seq, r.result.last_seq, r.result.valid])).toEqual([
      ["full", 5, 1, 5, true],
      // seq 6 is the first run's chain_validate record, 7-9 the new rows.
      ["incremental", 4, 6, 9, true],
    ]);
    const evidence = JSON.parse(await (await env.ARCHIVE.get(runs[1]!.evidence_key))!.text());
    expect(evidence).toMatchObject({ kind: "incremental", checked: { from_seq: 6, to_seq: 9, rows: 4 } });
  });

  it("a tampered row: the run records the break, a chain_integrity_failure event with risk 100 and an alert", async () => {
    const [id] = blockIds(1) as [string];
    const tenant = await orgWithRows(id, 5);
    await runPass(id);
    expect((await appendBatch(tenant.ingest.as, [recordBody(), recordBody()])).status).toBe(201);
    const rows = await chainRows(id);
    await sql("UPDATE audit_logs SET action = 'delete' WHERE id = ?", rows[6]!.id);
    await sql("UPDATE audit_logs SET action = 'delete' WHERE id = ?", rows[1]!.id);
    await runPass(id);
    // A week after the last full pass, the full pass reaches the older tampered row too.
    await runPass(id, Date.now() + 8 * DAY_MS);

    const runs = await runsOf(id);
    expect(runs.map((r) => [r.kind, r.result.valid, r.result.broken_seq, r.result.broken_at])).toEqual([
      ["full", true, null, null],
      ["incremental", false, 7, rows[6]!.id],
      ["full", false, 2, rows[1]!.id],
    ]);
    const events = (
      await env.DB.prepare("SELECT * FROM security_events WHERE organization_id = ? AND event_type = 'chain_integrity_failure' ORDER BY timestamp, rowid")
        .bind(id)
        .all<Record<string, any>>()
    ).results;
    expect(events.map((e) => [e.risk_score, JSON.parse(e.metadata).broken_seq])).toEqual([
      [100, 7],
      [100, 2],
    ]);
    for (const event of events) {
      const alert = await env.DB.prepare("SELECT * FROM alerts WHERE security_event_id = ?").bind(event.id).first();
      expect(alert).toMatchObject({ organization_id: id });
    }
    const evidence = JSON.parse(await (await env.ARCHIVE.get(runs[1]!.evidence_key))!.text());
    expect(evidence.result).toMatchObject({ valid: false, broken_seq: 7, broken_at: rows[6]!.id });
  });

  it("after a full pass found a break behind the verified rows, the next daily run is full again and says so", async () => {
    const [id] = blockIds(1) as [string];
    const tenant = await orgWithRows(id, 5);
    const day = () => weekday(Date.now());
    await runPass(id, day());
    expect((await appendBatch(tenant.ingest.as, [recordBody()])).status).toBe(201);
    await runPass(id, day());
    const rows = await chainRows(id);
    await sql("UPDATE audit_logs SET action = 'delete' WHERE id = ?", rows[1]!.id);
    // A week on, the full pass finds the changed row; the next daily run must not check only the newest rows and answer valid.
    await runPass(id, Date.now() + 8 * DAY_MS);
    await runPass(id, day());
    // Once the row is put back, a run verifies the chain again, and the one after is incremental once more.
    await sql("UPDATE audit_logs SET action = ? WHERE id = ?", rows[1]!.action, rows[1]!.id);
    await runPass(id, day());
    await runPass(id, day());

    const runs = await runsOf(id);
    expect(runs.map((r) => [r.kind, r.result.valid, r.result.broken_seq])).toEqual([
      ["full", true, null],
      ["incremental", true, null],
      ["full", false, 2],
      ["full", false, 2],
      ["full", true, null],
      ["incremental", true, null],
    ]);
  });

  it("bounded invocations cover every row of every organization exactly once", async () => {
    const ids = blockIds(4);
    const sizes = [3, 0, 7, 2];
    for (const [i, id] of ids.entries()) await orgWithRows(id, sizes[i]!);
    await seedPass(ids[0]!, weekday(Date.now()));
    const scope = { db: db(), env };
    const invocations = [];
    // Stop once the pass has left the block (what follows belongs to other tests).
    for (let i = 0; i < 20; i++) {
      const cursor = await env.DB.prepare("SELECT next_org_id, finished_at FROM scheduled_cursors WHERE job = 'validation'").first<Record<string, any>>();
      if (cursor!.finished_at || cursor!.next_org_id > ids[3]!) break;
      invocations.push(await continueValidationPass(env, scope, { rows: 4, organizations: 2, wallMs: 60_000 }));
    }
    await sql("UPDATE scheduled_cursors SET finished_at = ?1, next_org_id = NULL WHERE job = 'validation'", new Date().toISOString());

    for (const done of invocations) {
      expect(done.organizations).toBeLessThanOrEqual(2);
      expect(done.rows).toBeLessThanOrEqual(4);
    }
    // 3 + 1 (the empty one) + 7 + 2 rows at 4 a call: at least 4 invocations.
    expect(invocations.length).toBeGreaterThanOrEqual(4);
    // The split organization's first segment appended its chain_validate record (seq 8) before the
    // second segment walked on to the head, so that segment checks it too.
    const expectedSeqs = [3, 0, 8, 2];
    for (const [i, id] of ids.entries()) {
      const seqs = (await runsOf(id)).flatMap((r) =>
        r.result.first_seq === null ? [] : Array.from({ length: r.result.last_seq - r.result.first_seq + 1 }, (_, k) => r.result.first_seq + k),
      );
      expect(seqs).toEqual(Array.from({ length: expectedSeqs[i]! }, (_, k) => k + 1));
      expect((await runsOf(id)).length).toBe(i === 2 ? 2 : 1);
    }
    // The organization larger than the budget was walked in two segments, the second from where the first stopped.
    expect((await runsOf(ids[2]!)).map((r) => [r.result.first_seq, r.result.last_seq, r.result.complete])).toEqual([
      [1, 4, false],
      [5, 8, true],
    ]);
  });
});
