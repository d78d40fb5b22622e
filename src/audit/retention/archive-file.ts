import { sha256Hex, utf8 } from "../../crypto/encoding";

/**
 * A gzipped JSONL archive built a page of lines at a time: only the compressed bytes are held,
 * so a chunk of rows costs its compressed size in memory, not its text.
 */
export class GzipLines {
  lines = 0;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #chunks: Uint8Array[] = [];
  readonly #drained: Promise<void>;

  constructor() {
    const gzip = new CompressionStream("gzip");
    this.#writer = gzip.writable.getWriter();
    this.#drained = (async () => {
      for await (const chunk of gzip.readable) this.#chunks.push(chunk);
    })();
  }

  async write(lines: readonly string[]) {
    if (lines.length === 0) return;
    await this.#writer.write(utf8(lines.join("\n") + "\n"));
    this.lines += lines.length;
  }

  /** The archive's bytes and their SHA-256 (hex), the digest the manifest and the anchor state. */
  async finish(): Promise<{ body: Uint8Array; sha256: string }> {
    await this.#writer.close();
    await this.#drained;
    const body = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const chunk of this.#chunks) {
      body.set(chunk, at);
      at += chunk.length;
    }
    return { body, sha256: await sha256Hex(body) };
  }
}

export const archiveKeyOf = (orgId: string, seqFrom: number, seqTo: number) => `archives/${orgId}/${seqFrom}-${seqTo}.jsonl.gz`;
export const manifestKeyOf = (archiveKey: string) => archiveKey.replace(/\.jsonl\.gz$/, ".manifest.json");
