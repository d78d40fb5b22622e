/**
 * Progress of a long walk on stderr: a `\r` line redrawn a few times a second on a terminal, an
 * occasional plain line otherwise (so logs stay readable). stdout keeps only the verdict.
 */
export class Progress {
  #lastDraw = 0;
  #drawn = false;
  readonly #stream: NodeJS.WriteStream;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
  }

  tick(rows: number, seq: number) {
    if (this.#stream.isTTY) {
      if (rows % 1000 !== 0) return;
      const now = Date.now();
      if (now - this.#lastDraw < 200) return;
      this.#lastDraw = now;
      this.#drawn = true;
      this.#stream.write(`\rchecked ${rows.toLocaleString("en-US")} rows (seq ${seq})…`);
    } else if (rows % 100_000 === 0) {
      this.#stream.write(`checked ${rows.toLocaleString("en-US")} rows (seq ${seq})\n`);
    }
  }

  done() {
    if (this.#drawn) this.#stream.write("\r\x1b[K");
  }
}
