import { readFile, stat } from "node:fs/promises";
import { duplicateMember } from "./member-names";

/** Bad invocation or unusable input files: exit status 2, with a message that says which. */
export class UsageError extends Error {}

function describe(err: unknown) {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory";
  return code ?? "unreadable";
}

/** Fails with a UsageError unless `path` names a readable regular file. */
export async function requireFile(path: string, what: string) {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${describe(err)}`);
  }
  if (!info.isFile()) throw new UsageError(`cannot read ${what} ${path}: not a regular file`);
}

export async function readBytes(path: string, what: string) {
  await requireFile(path, what);
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${describe(err)}`);
  }
}

/**
 * `text`, the content of the `what` file `path`, parsed as JSON. A member name written twice in any
 * object is refused as malformed: JSON.parse keeps the last, whoever reads the file may see the first.
 */
export function parseJsonInput(text: string, path: string, what: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`${what} ${path} is not valid JSON`);
  }
  const duplicate = duplicateMember(text, json);
  if (duplicate) throw new UsageError(`${what} ${path} is malformed: ${duplicate}`);
  return json;
}

export async function readJson(path: string, what: string): Promise<unknown> {
  return parseJsonInput((await readBytes(path, what)).toString("utf8"), path, what);
}

export type PublicJwk = { kid: string; x: string };

/** A JWKS as served at /.well-known/jwks.json: {"keys":[{"kid","x",…}]}. */
export async function readJwks(path: string): Promise<PublicJwk[]> {
  const jwks = await readJson(path, "JWKS");
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k?.kid === "string" && typeof k?.x === "string")) {
    throw new UsageError(`JWKS ${path} must look like {"keys":[{"kid":…,"x":…}]} (as served at /.well-known/jwks.json)`);
  }
  return keys as PublicJwk[];
}
