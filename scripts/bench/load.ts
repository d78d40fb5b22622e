// Time-bounded HTTP load with autocannon (one process, pipelining 1).
import autocannon from "autocannon";

export type LoadOptions = {
  url: string;
  connections: number;
  seconds: number;
  method?: "GET" | "POST";
  body?: string;
  /** Headers per connection: connection i gets headersFor(i). */
  headersFor?: (connection: number) => Record<string, string>;
};

export type LoadResult = {
  ok_per_s: number;
  ok: number;
  non2xx: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  seconds: number;
};

async function run(options: LoadOptions, seconds: number): Promise<LoadResult> {
  let connection = 0;
  const r = await autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    duration: seconds,
    method: options.method ?? "GET",
    body: options.body,
    headers: options.headersFor?.(0),
    setupClient: options.headersFor ? (client) => client.setHeaders(options.headersFor!(connection++)) : undefined,
  });
  // Only 2xx answers count as work done; failures are reported next to the rate.
  return {
    ok_per_s: r["2xx"] / r.duration,
    ok: r["2xx"],
    non2xx: r.non2xx,
    errors: r.errors,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    seconds: r.duration,
  };
}

/** A short unmeasured warm-up (JIT, Durable Object start, connection setup), then the measured run. */
export async function measure(options: LoadOptions, warmupSeconds = 2): Promise<LoadResult> {
  await run(options, warmupSeconds);
  return run(options, options.seconds);
}
