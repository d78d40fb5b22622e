// The Worker's memory, read from outside while it works, two ways:
// - the V8 heap of the Worker's isolate (DevTools protocol Runtime.getHeapUsage through wrangler's
//   inspector proxy); the Durable Objects of the same script share that isolate. This is what a
//   Worker's 128 MB limit is about.
// - the RSS of the workerd process that runs the Worker. It also holds the local D1 and R2
//   simulators (their SQLite caches, buffers), so it over-counts; it is the cross-check.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const MB = 1024 * 1024;

function processes() {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const [, , , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return [{ pid: Number(pid), comm, pgrp: Number(pgrp) }];
      } catch {
        return []; // gone meanwhile
      }
    });
}

const opensUnder = (pid: number, dir: string) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
};

/**
 * wrangler dev starts two workerd processes in its process group: one serves the port and proxies,
 * the other runs the Worker — the one with the bench's state dir (D1, DOs, R2) open.
 */
export function workerdPid(groupPid: number, stateDir: string): number {
  const candidates = processes().filter((p) => p.pgrp === groupPid && p.comm === "workerd");
  const runner = candidates.filter((p) => opensUnder(p.pid, stateDir));
  if (runner.length !== 1) throw new Error(`expected one workerd with ${stateDir} open among ${candidates.map((p) => p.pid).join(", ") || "none"}`);
  return runner[0]!.pid;
}

export const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

/**
 * `heapUsed`: the isolate's JS heap plus ArrayBuffer backing stores (where encoded chunks live).
 * `collect`: a full GC. workerd ignores HeapProfiler.collectGarbage, but a heap snapshot runs a full
 * GC first; the snapshot itself is discarded. It pauses the isolate for a moment: only between runs.
 */
export type Inspector = { heapUsed: () => Promise<number>; collect: () => Promise<void>; close: () => void };

/** Connects to the Worker's isolate; null (and the reason on stderr) if the inspector does not answer. */
export async function connectInspector(port: number): Promise<Inspector | null> {
  try {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(5000) })).json()) as { webSocketDebuggerUrl: string }[];
    // The proxy refuses a WebSocket without a local Origin (DNS-rebinding guard).
    const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } } as unknown as string[]);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve);
      ws.addEventListener("error", () => reject(new Error("WebSocket refused")));
      setTimeout(() => reject(new Error("WebSocket did not open in 5 s")), 5000);
    });
    let nextId = 0;
    type Result = { usedSize?: number; backingStorageSize?: number } | undefined;
    const waiting = new Map<number, (result: Result) => void>();
    ws.addEventListener("message", (m) => {
      const text = String(m.data);
      if (!text.startsWith('{"id"')) return; // events, snapshot chunks among them
      const message = JSON.parse(text) as { id: number; result?: Result };
      waiting.get(message.id)?.(message.result);
    });
    const call = (method: string, timeoutMs: number) =>
      new Promise<Result>((resolve) => {
        const id = ++nextId;
        const timer = setTimeout(() => settle(undefined), timeoutMs);
        const settle = (result: Result) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(result);
        };
        waiting.set(id, settle);
        ws.send(JSON.stringify({ id, method, params: {} }));
      });
    const heapUsed = async () => {
      const r = await call("Runtime.getHeapUsage", 2000);
      return r?.usedSize === undefined ? Number.NaN : r.usedSize + (r.backingStorageSize ?? 0);
    };
    if (Number.isNaN(await heapUsed())) throw new Error("Runtime.getHeapUsage did not answer");
    return { heapUsed, collect: async () => void (await call("HeapProfiler.takeHeapSnapshot", 60_000)), close: () => ws.close() };
  } catch (err) {
    console.error(`[bench] the Worker's heap is not readable through the inspector (${(err as Error).message}); RSS only`);
    return null;
  }
}

export type MemoryPeak = { heap_before_mb: number | null; heap_peak_mb: number | null; rss_before_mb: number; rss_peak_mb: number; samples: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `work` while sampling heap and RSS every `everyMs`. "Before" is taken just ahead of it, after a
 * full GC, so it is the idle Worker's live heap, not whatever garbage earlier work left. Peak minus
 * before is what the work needed (garbage it made and V8 had not yet collected included).
 */
export async function peakDuring<T>(pid: number, inspector: Inspector | null, work: () => Promise<T>, everyMs = 20) {
  const sample = async () => ({ heap: inspector ? await inspector.heapUsed() : Number.NaN, rss: rssBytes(pid) });
  await inspector?.collect();
  let before = await sample();
  for (let i = 0; i < 4; i++) {
    await sleep(50);
    before = await sample();
  }
  let done = false;
  let peak = { ...before };
  let samples = 0;
  const sampler = (async () => {
    while (!done) {
      const s = await sample();
      samples++;
      peak = { heap: Number.isNaN(s.heap) ? peak.heap : Math.max(peak.heap, s.heap), rss: Math.max(peak.rss, s.rss) };
      await sleep(Math.max(everyMs, 1)); // yields even when RSS alone is sampled
    }
  })();
  try {
    const result = await work();
    return { result, memory: memoryFigures(before, peak, samples) };
  } finally {
    done = true;
    await sampler;
  }
}

function memoryFigures(before: { heap: number; rss: number }, peak: { heap: number; rss: number }, samples: number): MemoryPeak {
  const mb = (n: number) => (Number.isNaN(n) ? null : Math.round((n / MB) * 10) / 10);
  return { heap_before_mb: mb(before.heap), heap_peak_mb: mb(peak.heap), rss_before_mb: mb(before.rss)!, rss_peak_mb: mb(peak.rss)!, samples };
}
