import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { appendBatch, appendRecord, chainRows, createTenant, recordBody, validate } from "./helpers";

type Tenant = Awaited<ReturnType<typeof createTenant>>;

/** 1,000 records as 600 single appends and 40 batches of 10, all in flight at once, shuffled. */
function mixedLoad(t: Tenant, tag: string, idempotent = false) {
  const calls: (() => Promise<{ status: number; tags: string[]; ids: string[] }>)[] = [];
  for (let i = 0; i < 600; i++) {
    const body = recordBody({ metadata: { tag: `${tag}-s${i}` } });
    const headers: Record<string, string> = idempotent ? { "Idempotency-Key": `${tag}-s${i}` } : {};
    calls.push(async () => {
      const res = await appendRecord(t.ingest.as, body, headers);
      return { status: res.status, tags: [`${tag}-s${i}`], ids: res.status === 201 ? [res.json.id] : [] };
    });
  }
  for (let b = 0; b < 40; b++) {
    const records = Array.from({ length: 10 }, (_, j) => recordBody({ metadata: { tag: `${tag}-b${b}-${j}` } }));
    const headers: Record<string, string> = idempotent ? { "Idempotency-Key": `${tag}-b${b}` } : {};
    calls.push(async () => {
      const res = await appendBatch(t.ingest.as, records, headers);
      return { status: res.status, tags: records.map((r) => r.metadata.tag as string), ids: res.status === 201 ? res.json.records.map((r: { id: string }) => r.id) : [] };
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

/** Counts answers and hard-aborts every Durable Object when the 100th and the 300th arrive, others still in flight. */
function abortingCounter() {
  let answered = 0;
  return () => {
    answered++;
    if (answered === 100 || answered === 300) void abortAllDurableObjects();
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

describe("concurrent appends to one organization", { timeout: 120_000 }, () => {
  it("1,000 records (singles and batches at once) → seq 1..N gapless, each exactly once, chain valid", async () => {
    const t = await createTenant();
    const results = await Promise.all(mixedLoad(t, "plain").map((call) => call()));
    expect(results.every((r) => r.status === 201)).toBe(true);
    const rows = await expectGaplessAndValid(t.org.id);
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(results.flatMap((r) => r.ids)));
    expect(new Set(tagsOf(rows)).size).toBe(1000);
    // Each batch's records are contiguous and in order.
    for (let b = 0; b < 40; b++) {
      const seqs = rows.filter((r) => JSON.parse(r.metadata).tag.startsWith(`plain-b${b}-`)).map((r) => r.seq);
      expect(seqs).toEqual(seqs.map((_, j) => seqs[0] + j));
    }
  });

  it("while the object is evicted and aborted mid-stream: every 201 is in the chain once, no gap, no fork", async () => {
    const t = await createTenant();
    const calls = mixedLoad(t, "evict");
    const pending = runClients(calls, 48, abortingCounter());
    const results = await pending;
    // The aborts really hit requests in flight, and those were refused as retryable, never half-done.
    const refused = results.filter((r) => r.status !== 201);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.status === 503)).toBe(true);
    const rows = await expectGaplessAndValid(t.org.id);
    const stored = new Map(rows.map((r) => [r.id, r]));
    const acknowledged = results.flatMap((r) => r.ids);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const id of acknowledged) expect(stored.has(id)).toBe(true);
    expect(new Set(tagsOf(rows)).size).toBe(tagsOf(rows).length);
    // Whatever failed can be sent again; the chain stays whole.
    const failedTags = results.filter((r) => r.status !== 201).flatMap((r) => r.tags);
    const resent = await Promise.all(
      failedTags.filter((tag) => !tagsOf(rows).includes(tag)).map((tag) => appendRecord(t.ingest.as, recordBody({ metadata: { tag } }))),
    );
    expect(resent.every((r) => r.status === 201)).toBe(true);
    await expectGaplessAndValid(t.org.id);
  });

  it("Idempotency-Key retries under concurrency and eviction append each request exactly once", async () => {
    const t = await createTenant();
    const calls = mixedLoad(t, "idem", true);
    // Every request is sent twice at once; halfway through the object is aborted.
    const firstWave = runClients(calls.flatMap((call) => [call, call]), 48, abortingCounter());
    const first = await firstWave;
    expect(first.some((r) => r.status === 503)).toBe(true);
    // A client retries every request until it gets its answer.
    let retries = 0;
    for (let round = 0; round < 3; round++) {
      const again = await Promise.all(calls.map((call) => call()));
      retries++;
      if (again.every((r) => r.status === 201)) break;
    }
    expect(retries).toBeLessThanOrEqual(3);
    const rows = await expectGaplessAndValid(t.org.id);
    const tags = tagsOf(rows);
    expect(tags).toHaveLength(1000);
    expect(new Set(tags).size).toBe(1000);
    expect(first.filter((r) => r.status === 201).length).toBeGreaterThan(0);
  });
});
