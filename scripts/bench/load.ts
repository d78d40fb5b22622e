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
  /** Called as each run (the warm-up, then the measured one) starts: to sample the server's CPU. */
  onStart?: () => void;
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
  options.onStart?.();
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

export type LatencyResult = { requests: number; per_s: number; p50_ms: number; p95_ms: number; max_ms: number; non2xx: number; errors: number; seconds: number };

/** Nearest-rank percentile of ascending `sorted` (ms). */
export const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

export function latencySummary(times: number[], seconds: number, failures = { non2xx: 0, errors: 0 }): LatencyResult {
  const sorted = [...times].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    requests: times.length,
    per_s: times.length / seconds,
    p50_ms: round(percentile(sorted, 50)),
    p95_ms: round(percentile(sorted, 95)),
    max_ms: round(sorted.at(-1) ?? Number.NaN),
    ...failures,
    seconds,
  };
}

/**
 * GET requests whose path and headers are drawn per request by `next()`, for `seconds`, after an
 * unmeasured warm-up. autocannon's summary has no p95, so every 2xx response time is kept.
 */
export async function measureLatency(options: {
  base: string;
  connections: number;
  seconds: number;
  warmupSeconds?: number;
  next: () => { path: string; headers: Record<string, string> };
}): Promise<LatencyResult> {
  const once = async (seconds: number) => {
    const times: number[] = [];
    const r = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: options.base,
          connections: options.connections,
          pipelining: 1,
          duration: seconds,
          requests: [
            {
              setupRequest: (req) => {
                const { path, headers } = options.next();
                return { ...req, method: "GET", path, headers: { ...req.headers, ...headers } };
              },
            },
          ],
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
      instance.on("response", (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) times.push(ms);
      });
    });
    return latencySummary(times, r.duration, { non2xx: r.non2xx, errors: r.errors });
  };
  if ((options.warmupSeconds ?? 1) > 0) await once(options.warmupSeconds ?? 1);
  return once(options.seconds);
}
