// Exports as an org_admin: the capped one streamed in the response, and the uncapped one that the
// ExportRunner's alarms build in R2, then downloaded through its signed link and hashed here.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const auth = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/json" });

export type CappedExport = { format: string; rows: number; total: number; bytes: number; first_byte_ms: number; last_byte_ms: number };

/** POST /audit/export; the clock stops at the last byte. Rows are counted in what arrived, not taken from headers. */
export async function cappedExport(base: string, token: string, body: { format: "json" | "csv"; start_date?: string; end_date?: string }): Promise<CappedExport> {
  const started = performance.now();
  const res = await fetch(`${base}/api/v1/audit/export`, { method: "POST", headers: auth(token), body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
  const firstByte = performance.now() - started;
  const bytes = new Uint8Array(await res.arrayBuffer());
  const lastByte = performance.now() - started;
  const text = new TextDecoder().decode(bytes);
  if (!res.ok) throw new Error(`POST /audit/export answered ${res.status}: ${text.slice(0, 300)}`);
  let rows: number;
  if (body.format === "json") {
    const answer = JSON.parse(text) as { returned: number; items: unknown[] };
    if (answer.items.length !== answer.returned) throw new Error(`export said returned ${answer.returned} but held ${answer.items.length} items`);
    rows = answer.items.length;
  } else {
    rows = text.split("\r\n").length - 2; // header line, and the empty string after the last CRLF
  }
  return { format: body.format, rows, total: Number(res.headers.get("X-Result-Total")), bytes: bytes.byteLength, first_byte_ms: firstByte, last_byte_ms: lastByte };
}

type Job = { id: string; status: string; row_count: number; bytes: number; sha256: string | null; error: string | null; download_url: string | null };

async function getJson<T>(url: string, token: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, headers: auth(token), signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Polls until the export completes (or fails, or `maxSeconds` pass). */
export async function uncappedExport(base: string, token: string, maxSeconds: number, progress: (text: string) => void) {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const { id } = await getJson<{ id: string }>(`${base}/api/v1/audit/exports`, token, { method: "POST", body: JSON.stringify({ format: "jsonl" }) });
  let job: Job;
  let lastReport = performance.now();
  for (;;) {
    job = await getJson<Job>(`${base}/api/v1/audit/exports/${id}`, token);
    if (job.status === "complete") break;
    if (job.status === "failed") throw new Error(`export ${id} failed: ${job.error}`);
    if (elapsed() > maxSeconds) throw new Error(`export ${id} still ${job.status} after ${maxSeconds} s`);
    if (performance.now() - lastReport > 15_000) {
      lastReport = performance.now();
      progress(`  … export ${job.status} after ${elapsed().toFixed(0)} s`);
    }
    await sleep(250);
  }
  return { id, seconds: elapsed(), rows: job.row_count, bytes: job.bytes, sha256: job.sha256, download_url: job.download_url! };
}

/** Downloads the signed link with no credentials, hashing as it streams; JSONL lines counted too. */
export async function download(base: string, link: string) {
  // download_url is built from the request URL; it must point back at the bench's own server.
  if (new URL(link).origin !== new URL(base).origin) throw new Error(`download_url ${link} is not on ${base}`);
  const started = performance.now();
  const res = await fetch(link, { signal: AbortSignal.timeout(600_000) });
  if (!res.ok || !res.body) throw new Error(`GET download_url answered ${res.status}`);
  const hash = createHash("sha256");
  let bytes = 0;
  let lines = 0;
  for await (const chunk of Readable.fromWeb(res.body as unknown as NodeReadableStream<Uint8Array>)) {
    const data = chunk as Buffer;
    hash.update(data);
    bytes += data.byteLength;
    for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) lines++;
  }
  const seconds = (performance.now() - started) / 1000;
  return { seconds, bytes, lines, sha256: hash.digest("hex"), mb_per_s: bytes / MB / seconds, header_sha256: res.headers.get("X-Content-SHA256") };
}
