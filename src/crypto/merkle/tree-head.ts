import { fromBase64Url, toBase64Url, utf8 } from "../encoding";
import { verifyEd25519 } from "../ed25519";
import { HASH_BYTES } from "./hash";

/**
 * Signed tree heads: C2SP tlog-checkpoint notes with one signed-note signature line
 * (docs/protocol.md §12). Pure: signing and key lookup are passed in.
 */
export const NOTE_KEY_NAME = "chainproof";

export type TreeHead = { organizationId: string; size: number; root: Uint8Array };

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

function fromBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return toBase64(bytes) === text ? bytes : null;
}

/** The signed body: origin, size and root, each line ending in a newline. */
export const treeHeadBody = (head: TreeHead) => `chainproof/${head.organizationId}\n${head.size}\n${toBase64(head.root)}\n`;

/** key_hash = SHA-256("chainproof" || 0x0A || 0x01 || the raw Ed25519 public key); the note uses its first 4 bytes. */
export async function noteKeyHash(publicKeyX: string): Promise<Uint8Array> {
  const prefix = utf8(`${NOTE_KEY_NAME}\n\u0001`);
  const raw = fromBase64Url(publicKeyX);
  const input = new Uint8Array(prefix.length + raw.length);
  input.set(prefix);
  input.set(raw, prefix.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input)).slice(0, 4);
}

/** The note text: body, blank line, `— chainproof <base64(key_hash[0..4] || signature)>`. */
export async function signTreeHead(
  head: TreeHead,
  signer: { publicJwk: { x: string }; sign(data: string): Promise<string> },
): Promise<string> {
  const body = treeHeadBody(head);
  const signature = fromBase64Url(await signer.sign(body));
  const keyHash = await noteKeyHash(signer.publicJwk.x);
  const blob = new Uint8Array(keyHash.length + signature.length);
  blob.set(keyHash);
  blob.set(signature, keyHash.length);
  return `${body}\n\u2014 ${NOTE_KEY_NAME} ${toBase64(blob)}\n`;
}

type SignatureLine = { name: string; blob: Uint8Array };

/**
 * Every line after the blank one, each `— <name> <base64(key_hash[0..4] || signature)>`, or why
 * not. C2SP signed-note (and Go's note.Open) reject the whole note when one line is malformed,
 * even if another line verifies: otherwise text appended after a valid signature would ride along.
 * A name is non-empty with no space and no `+`; a blob holds at least the key hash and one byte.
 */
function signatureLinesOf(block: string): SignatureLine[] | string {
  const lines = block.split("\n");
  if (lines.pop() !== "" || lines.length === 0) return "the note does not end with a signature line and a newline";
  const signatures: SignatureLine[] = [];
  for (const line of lines) {
    const match = /^\u2014 ([^\s+]+) (\S+)$/.exec(line);
    const blob = match ? fromBase64(match[2]!) : null;
    if (!match || !blob || blob.length < 5) return "a signature line is malformed";
    signatures.push({ name: match[1]!, blob });
  }
  return signatures;
}

export type NoteCheck = { ok: true; head: TreeHead } | { ok: false; reason: string };

/** Parses a note strictly and checks its chainproof signature against one of `keys` (JWKS entries). */
export async function verifyTreeHead(note: string, keys: readonly { x: string }[]): Promise<NoteCheck> {
  const parts = note.split("\n\n");
  if (parts.length !== 2) return { ok: false, reason: "not a signed note (no single blank line)" };
  const body = `${parts[0]}\n`;
  const lines = parts[0]!.split("\n");
  if (lines.length !== 3) return { ok: false, reason: "the note body is not origin, size and root" };
  const origin = /^chainproof\/(.+)$/.exec(lines[0]!);
  if (!origin) return { ok: false, reason: "the origin line is not chainproof/<organization_id>" };
  if (!/^(0|[1-9][0-9]{0,15})$/.test(lines[1]!)) return { ok: false, reason: "the tree size is not a decimal number" };
  const root = fromBase64(lines[2]!);
  if (!root || root.length !== HASH_BYTES) return { ok: false, reason: "the root hash is not 32 bytes of base64" };
  const head: TreeHead = { organizationId: origin[1]!, size: Number(lines[1]), root };
  const signatures = signatureLinesOf(parts[1]!);
  if (typeof signatures === "string") return { ok: false, reason: signatures };
  for (const { name, blob } of signatures) {
    if (name !== NOTE_KEY_NAME) continue;
    for (const key of keys) {
      const keyHash = await noteKeyHash(key.x);
      if (keyHash.some((b, i) => b !== blob[i])) continue;
      // The line names this key, so its signature decides: a known key's signature that fails
      // rejects the note (C2SP signed-note, Go's note.Open), whatever a later line says.
      if (blob.length === 4 + 64 && (await verifyEd25519(key, body, toBase64Url(blob.slice(4))))) return { ok: true, head };
      return { ok: false, reason: "a chainproof signature line names a key of the JWKS but does not verify" };
    }
  }
  return { ok: false, reason: "no chainproof signature verifies with the given keys" };
}
