import { type TreeHead, verifyTreeHead } from "../src/crypto/merkle/tree-head";
import { isObject } from "./chain-walk";
import { parseJsonInput, type PublicJwk, readBytes, UsageError } from "./io";

/**
 * A signed tree head as a file holds it: the note text itself, or a JSON answer that carries it —
 * `checkpoint` of GET /api/v1/audit/tree-head and of the proof answers, `tree_head` of a
 * GET /api/v1/audit/checkpoints item. `json` is that answer (null for a raw note); `note` is null
 * when the answer has none (a checkpoint issued before the tree was built).
 */
export type NoteFile = { path: string; note: string | null; json: Record<string, unknown> | null };
export type SignedNoteFile = NoteFile & { note: string };

export async function readNoteFile(path: string, what: string): Promise<NoteFile> {
  const text = (await readBytes(path, what)).toString("utf8");
  // Anything else is read as a note, so that an edited byte is a verdict of the signature check.
  if (!/^\s*[[{]/.test(text)) return { path, note: text, json: null };
  const json = parseJsonInput(text, path, what);
  if (!isObject(json)) throw new UsageError(`${what} ${path} must be a note file or a JSON object`);
  const note = typeof json.checkpoint === "string" ? json.checkpoint : typeof json.tree_head === "string" ? json.tree_head : null;
  return { path, note, json };
}

/** The signed tree head of a --checkpoint given for the public check: the file must hold one. */
export async function readSignedNote(path: string, what: string): Promise<SignedNoteFile> {
  const file = await readNoteFile(path, what);
  if (file.note === null) {
    const old = file.json && file.json.tree_head === null ? " (this checkpoint was issued before the tree was built)" : "";
    throw new UsageError(`${what} ${path} holds no signed tree head: give a note file, or JSON with "checkpoint" or "tree_head" text${old}`);
  }
  return file as SignedNoteFile;
}

/** The head and the kid of the JWKS key that signed it, or why the note is not authentic. */
export type AuthenticHead = { ok: true; head: TreeHead; kid: string } | { ok: false; reason: string };

export async function authenticHead(note: string, keys: readonly PublicJwk[]): Promise<AuthenticHead> {
  let last = "the JWKS has no keys";
  for (const key of keys) {
    const check = await verifyTreeHead(note, [key]);
    if (check.ok) return { ok: true, head: check.head, kid: key.kid };
    last = check.reason;
    // A malformed note fails the same way for every key.
    if (!last.startsWith("no chainproof signature")) break;
  }
  return { ok: false, reason: last };
}

/** The root as the API's JSON writes it (root_hash): hex. */
export const rootText = (head: TreeHead) => Buffer.from(head.root).toString("hex");

/** The tree head line of an answer: `size N, root …, signature valid (kid …)`. */
export const headText = (head: TreeHead, kid: string) => `size ${head.size}, root ${rootText(head)}, signature valid (kid ${kid})`;
