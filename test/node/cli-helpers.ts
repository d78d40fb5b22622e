import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import { ed25519Signer, parsePrivateJwk } from "../../src/crypto/ed25519";

const CLI = fileURLToPath(new URL("../../cli/chainproof.mjs", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs the real CLI as a user would. */
export function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

// Each case spawns the real CLI (about half a second apiece on a loaded machine).
export const slow = { timeout: 60_000 };

/** A temporary directory for the calling test file, removed after it. */
export function tempDir() {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "chainproof-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const inDir = (name: string) => join(dir, name);
  return {
    inDir,
    file: async (name: string, content: string) => {
      await writeFile(inDir(name), content);
      return inDir(name);
    },
  };
}

export type Signer = Awaited<ReturnType<typeof ed25519Signer>>;

export const newSigner = async (): Promise<Signer> =>
  ed25519Signer(parsePrivateJwk(JSON.stringify(generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }))));
