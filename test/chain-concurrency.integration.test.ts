import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { appendBatch, appendRecord, chainRows, createTenant, recordBody, type Tenant, validate } from "./helpers";

/** One answer, with what a client can compare between two answers to the same request. */
type Answer = { key: string; status: number; replayed: boolean; tags: string[]; ids: string[]; sealed: string };

const sealedOf = (records: { id: string; seq: number; row_hmac: string }[]) => JSON.stringify(records.map((r) => [r.id, r.seq, r.row_hmac]));

/** 1,000 records as 600 single appends and 40 batches of 10, all in flight at once, shuffled. */
function mixedLoad(t: Tenant, tag: string, idempotent = false) {
  const calls: (() => Promise<Answer>)[] = [];
  const answer = (key: string, tags: string[], res: Awaited<ReturnType<typeof appendRecord>>, records: () => { id: string; seq: number; row_hmac: string }[]) => {
    const sealed = res.status === 201 ? records() : [];
    return { key, status: res.status, replayed: res.headers.get("Idempotent-Replayed") === "true", tags, ids: sealed.map((r) => r.id), sealed: sealedOf(sealed) };
  };
  for (let i = 0; i < 600; i++) {
    const key = `${tag}-s${i}`;
    const body = recordBody({ metadata: { tag: key } });
    const headers: Record<string, string> = idempotent ? { "Idempotency-Key": key } : {};
    calls.push(async () => {
      const res = await appendRecord(t.ingest.as, body, headers);
      return answer(key, [key], res, () => [res.json]);
    });
  }
  for (let b = 0; b < 40; b++) {
    const key = `${tag}-b${b}`;
    const records = Array.from({ length: 10 }, (_, j) => recordBody({ metadata: { tag: `${key}-${j}` } }));
    const headers: Record<string, string> = idempotent ? { "Idempotency-Key": key } : {};
    calls.push(async () => {
      const res = await appendBatch(t.ingest.as, records, headers);
      return answer(key, records.map((r) => r.metadata.tag as string), res, () => res.json.records);
    });
  }
  return calls.sort(() => Math.random() - 0.5);
}

async function expectGaplessAndValid(orgId: string) {
  const rows = await chainRows(orgId);
  expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
  for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.row_hmac);
  const res = await validate({ organization_id: orgId, limit: 100_000 });
  expect(res.json).toMatchObject({ valid: true, checked: rows.length, broken_at: null });
  return rows;
}

/** Counts answers and hard-aborts every Durable Object at every 50th of the first 500, others still in flight (an abort that lands between two group commits hits nothing, so there are many). */
function abortingCounter() {
  let answered = 0;
  return () => {
    answered++;
    if (answered % 50 === 0 && answered <= 500) void abortAllDurableObjects();
  };
}

/** Closed-loop clients: `clients` requests always in flight until the calls run out. */
async function runClients<T>(calls: (() => Promise<T>)[], clients: number, onAnswer: () => void) {
  const results: T[] = new Array(calls.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < calls.length) {
        const i = next++;
        results[i] = await calls[i]!();
        onAnswer();
      }
    }),
  );
  return results;
}

const tagsOf = (rows: Record<string, any>[]) => rows.map((r) => JSON.parse(r.metadata).tag as string | undefined).filter((t) => t !== undefined);

const statusesOf = (answers: { status: number }[]) => answers.map((a) => a.status);
const replayedOf = (res: { headers: Headers }) => res.headers.get("Idempotent-Replayed") === "true";

/** Each 201 names the records stored for exactly its tags, with the seq and row_hmac it answered. */
function expectAnswersMatchChain(answers: Answer[], rows: Record<string, any>[]) {
  const stored = new Map(rows.map((r) => [r.id, r]));
  for (const answer of answers.filter((a) => a.status === 201)) {
    const mine = answer.ids.map((id) => stored.get(id));
    expect(mine.map((r) => r && JSON.parse(r.metadata).tag)).toEqual(answer.tags);
    expect(sealedOf(mine.map((r) => ({ id: r!.id, seq: r!.seq, row_hmac: r!.row_hmac })))).toBe(answer.sealed);
  }
}

describe("concurrent appends to one organization", { timeout: 120_000 }, () => {
  it("1,000 records (singles and batches at once) → seq 1..N gapless, each exactly once, chain valid", async () => {
    const t = await createTenant();
    const results = await Promise.all(mixedLoad(t, "plain").map((call) => call()));
    expect(statusesOf(results)).toEqual(Array(640).fill(201));
    const rows = await expectGaplessAndValid(t.org.id);
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(results.flatMap((r) => r.ids)));
    expect(new Set(tagsOf(rows)).size).toBe(1000);
    expectAnswersMatchChain(results, rows);
    // Each batch's records are contiguous and in order.
    for (let b = 0; b < 40; b++) {
      const seqs = rows.filter((r) => JSON.parse(r.metadata).tag.startsWith(`plain-b${b}-`)).map((r) => r.seq);
      expect(seqs).toHaveLength(10);
      expect(seqs).toEqual(seqs.map((_, j) => seqs[0] + j));
    }
  });

  it("while the object is evicted and aborted mid-stream: every 201 is in the chain once, no gap, no fork", async () => {
    const t = await createTenant();
    const calls = mixedLoad(t, "evict");
    const results = await runClients(calls, 48, abortingCounter());
    expect(results).toHaveLength(640);
    // The aborts really hit requests in flight, and those were refused as retryable, never half-done.
    const refused = results.filter((r) => r.status !== 201);
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(statusesOf(refused))).toEqual(new Set([503]));
    const rows = await expectGaplessAndValid(t.org.id);
    const acknowledged = results.flatMap((r) => r.ids);
    expect(acknowledged.length).toBeGreaterThan(0);
    expectAnswersMatchChain(results, rows);
    expect(new Set(tagsOf(rows)).size).toBe(tagsOf(rows).length);
    // Whatever failed and is not in the chain can be sent again; then every record is there once.
    const missing = refused.flatMap((r) => r.tags).filter((tag) => !tagsOf(rows).includes(tag));
    const resent = await Promise.all(missing.map((tag) => appendRecord(t.ingest.as, recordBody({ metadata: { tag } }))));
    expect(statusesOf(resent)).toEqual(missing.map(() => 201));
    const after = await expectGaplessAndValid(t.org.id);
    expect(tagsOf(after).sort()).toEqual(results.flatMap((r) => r.tags).sort());
    // Beside them only the first validation's own audit record.
    expect(after.filter((r) => !JSON.parse(r.metadata).tag).map((r) => r.action)).toEqual(["chain_validate"]);
    expect(after).toHaveLength(1001);
  });

  it("Idempotency-Key retries under concurrency and eviction append each request exactly once", async () => {
    const t = await createTenant();
    const calls = mixedLoad(t, "idem", true);
    // Every request is sent twice at once; halfway through the object is aborted.
    const first = await runClients(calls.flatMap((call) => [call, call]), 48, abortingCounter());
    expect(first).toHaveLength(1280);
    expect(new Set(statusesOf(first))).toEqual(new Set([201, 503]));
    // Two duplicates that were both answered carry the same records, and only one of them appended.
    const pairs = calls.map((_, i): [Answer, Answer] => [first[2 * i]!, first[2 * i + 1]!]);
    const bothAnswered = pairs.filter(([a, b]) => a.status === 201 && b.status === 201);
    expect(bothAnswered.length).toBeGreaterThan(0);
    for (const [a, b] of bothAnswered) {
      expect(b.sealed).toBe(a.sealed);
      expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    }

    // A client resends every request, and again those not yet answered, until each has its answer
    // (no more aborts: one round should do, three are allowed).
    const answers = new Map<string, Answer[]>();
    const keep = (list: Answer[]) => list.forEach((a) => answers.set(a.key, [...(answers.get(a.key) ?? []), a]));
    keep(first);
    let waiting = calls;
    for (let round = 0; round < 3 && waiting.length > 0; round++) {
      const again = await Promise.all(waiting.map((call) => call()));
      keep(again);
      waiting = waiting.filter((_, i) => again[i]!.status !== 201);
    }
    expect(waiting).toHaveLength(0);

    expect(answers.size).toBe(640);
    for (const [key, list] of answers) {
      const answered = list.filter((a) => a.status === 201);
      expect(new Set(answered.map((a) => a.sealed)).size, key).toBe(1);
      const fresh = answered.filter((a) => !a.replayed).length;
      // The append is answered fresh exactly once, unless the abort swallowed that answer (a 503
      // for a write that landed): then every 201 is a replay.
      if (list.some((a) => a.status === 503)) expect(fresh, key).toBeLessThanOrEqual(1);
      else expect(fresh, key).toBe(1);
    }
    const rows = await expectGaplessAndValid(t.org.id);
    expect(rows).toHaveLength(1000);
    const tags = tagsOf(rows);
    expect(tags).toHaveLength(1000);
    expect(new Set(tags).size).toBe(1000);
    expectAnswersMatchChain([...answers.values()].flat(), rows);
  });

  it("duplicates sent at once with one Idempotency-Key: one append, the same body for all, replayed on all but one", async () => {
    const t = await createTenant();
    const single = recordBody();
    const batch = [recordBody(), recordBody()];
    const [singles, batches] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => appendRecord(t.ingest.as, single, { "Idempotency-Key": "one" }))),
      Promise.all(Array.from({ length: 20 }, () => appendBatch(t.ingest.as, batch, { "Idempotency-Key": "two" }))),
    ]);
    for (const answers of [singles, batches]) {
      expect(statusesOf(answers)).toEqual(Array(20).fill(201));
      expect(new Set(answers.map((a) => a.text)).size).toBe(1);
      expect(answers.filter(replayedOf)).toHaveLength(19);
    }
    const rows = await chainRows(t.org.id);
    const sealed = (r: Record<string, any>) => [r.id, r.seq, r.row_hmac];
    expect(rows.map(sealed).sort((x, y) => Number(x[1]) - Number(y[1]))).toEqual(
      [singles[0]!.json, ...batches[0]!.json.records].map(sealed).sort((x, y) => Number(x[1]) - Number(y[1])),
    );
    expect(rows).toHaveLength(3);
  });
});
