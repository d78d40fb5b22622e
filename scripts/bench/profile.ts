// CPU profile of the Worker's isolate over `work` (DevTools Profiler through wrangler's inspector): self time by function.
// With CPU_PROFILE_DIR set, each profile is also written there whole.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export async function profileDuring<T>(port: number, work: () => Promise<T>): Promise<{ result: T; top: string }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } } as unknown as string[]);
  await new Promise((r) => ws.addEventListener("open", r));
  let id = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  ws.addEventListener("message", (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
  });
  const call = (method: string, params = {}) => new Promise<any>((resolve) => { const i = ++id; waiting.set(i, resolve); ws.send(JSON.stringify({ id: i, method, params })); });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  await call("Profiler.start");
  const result = await work();
  const { profile } = await call("Profiler.stop");
  ws.close();
  // The whole profile too, for DevTools (Performance → Load profile) or an inclusive-time view.
  if (process.env.CPU_PROFILE_DIR) writeFileSync(join(process.env.CPU_PROFILE_DIR, `worker-${Date.now()}.cpuprofile`), JSON.stringify(profile));
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] };
  const nodes = profile.nodes as Node[];
  const self = new Map<string, number>();
  let total = 0;
  for (const n of nodes) {
    const key = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + n.hitCount);
    total += n.hitCount;
  }
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const sampled = (profile.timeDeltas as number[]).reduce((a, b) => a + b, 0) / 1000;
  console.error(`profile: ${durationMs.toFixed(0)} ms, ${total} samples, deltas sum ${sampled.toFixed(0)} ms`);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}% ${k}`).join("\n");
  return { result, top };
}
