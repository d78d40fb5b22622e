import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { pipeline, Transform } from "node:stream";
import { createGunzip } from "node:zlib";

/** RFC 1952: every gzip member starts with ID1 ID2 = 1f 8b. */
const GZIP_MAGIC = [0x1f, 0x8b];

async function startsWithGzipMagic(path: string) {
  const handle = await open(path, "r");
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

/** A zlib failure of a gzipped file: the file is corrupt, which is a verdict, not a crash. */
export class GzipError extends Error {}

export type ChainFileReader = {
  gzip: boolean;
  /** The file's lines, gunzipped when it is gzip; throws GzipError when the gzip data is corrupt. */
  lines: () => AsyncGenerator<string>;
  /** hex SHA-256 of the file's raw bytes (the .gz as stored); complete once `lines` has run to the end. */
  sha256: () => string;
  close: () => void;
};

/**
 * Streams one export or archive (memory stays flat however long it is), hashing its raw bytes on
 * the way so an archive can be matched to its anchor without a second read.
 */
export async function openChainFile(path: string): Promise<ChainFileReader> {
  const gzip = await startsWithGzipMagic(path);
  const hash = createHash("sha256");
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // pipeline forwards an error of any stage to the last one, where readline rethrows it; but an error
  // at the very end (a gzip trailer whose CRC or length does not match) may come after readline has
  // ended, so the lines are complete only once the pipeline itself has finished without one.
  let settled: (err: Error | null | undefined) => void = () => {};
  const finished = new Promise<Error | null | undefined>((resolve) => (settled = resolve));
  const source = gzip
    ? pipeline(createReadStream(path), hashing, createGunzip(), (err) => settled(err))
    : pipeline(createReadStream(path), hashing, (err) => settled(err));
  const reader = createInterface({ input: source, crlfDelay: Infinity });
  async function* lines() {
    try {
      yield* reader;
      const failure = await finished;
      if (failure) throw failure;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (gzip && typeof code === "string" && code.startsWith("Z_")) throw new GzipError((err as Error).message);
      throw err;
    }
  }
  return {
    gzip,
    lines,
    sha256: () => hash.copy().digest("hex"),
    close: () => {
      reader.close();
      source.destroy();
    },
  };
}
