import { sha256Hex, toHex, utf8 } from "./encoding";
import { hkdfSha256 } from "./hkdf";
import { hmacSha256Hex, importHmacKey } from "./hmac";

export async function auditKeyId(keyBytes: Uint8Array): Promise<string> {
  const key = await importHmacKey(keyBytes, ["sign"]);
  return (await hmacSha256Hex(key, "chainproof key id")).slice(0, 16);
}

export interface AuditKeyring {
  current: { id: string; key: CryptoKey };
  byId: Map<string, CryptoKey>;
  derivedFromSecret: boolean;
  /** The key_id of the key derived from SECRET_KEY: it may seal only the epoch a chain starts with (docs/protocol.md §2). */
  derivedId: string | null;
}

type AuditSecrets = { SECRET_KEY: string; AUDIT_HMAC_KEY?: string; AUDIT_HMAC_RETIRED_KEYS?: string };

// Per-isolate cache keyed by a hash of the inputs, so keys are not re-derived per request
// and the map holds no second copy of the secrets. Values, not promises: a promise left
// pending by a cancelled request must not be awaited from another request in workerd.
const keyrings = new Map<string, AuditKeyring>();
let warnedDerived = false;

export async function loadAuditKeyring(secrets: AuditSecrets): Promise<AuditKeyring> {
  const cacheKey = await sha256Hex(
    JSON.stringify([secrets.SECRET_KEY, secrets.AUDIT_HMAC_KEY ?? null, secrets.AUDIT_HMAC_RETIRED_KEYS ?? null]),
  );
  const cached = keyrings.get(cacheKey);
  if (cached) return cached;
  const keyring = await buildKeyring(secrets);
  keyrings.set(cacheKey, keyring);
  return keyring;
}

async function buildKeyring(secrets: AuditSecrets): Promise<AuditKeyring> {
  const retired = parseRetiredKeys(secrets.AUDIT_HMAC_RETIRED_KEYS);
  // An empty AUDIT_HMAC_KEY counts as unset: an empty HMAC key would be worthless.
  const derivedFromSecret = !secrets.AUDIT_HMAC_KEY;
  const currentBytes = derivedFromSecret
    ? await hkdfSha256(secrets.SECRET_KEY, "chainproof", "audit-hmac-key", 32)
    : utf8(secrets.AUDIT_HMAC_KEY!);
  if (derivedFromSecret && !warnedDerived) {
    warnedDerived = true;
    console.warn("AUDIT_HMAC_KEY is not set; sealing with a key derived from SECRET_KEY");
  }

  const byId = new Map<string, CryptoKey>();
  for (const bytes of retired.map(utf8)) {
    byId.set(await auditKeyId(bytes), await importHmacKey(bytes, ["sign", "verify"]));
  }
  // Rows sealed before AUDIT_HMAC_KEY was set used the key derived from SECRET_KEY, which cannot be
  // written into the retired list (it is bytes, not a string): it stays configured for verification.
  let derivedId: string | null = null;
  if (!derivedFromSecret && secrets.SECRET_KEY) {
    const derived = await hkdfSha256(secrets.SECRET_KEY, "chainproof", "audit-hmac-key", 32);
    derivedId = await auditKeyId(derived);
    byId.set(derivedId, await importHmacKey(derived, ["sign", "verify"]));
  }
  const current = { id: await auditKeyId(currentBytes), key: await importHmacKey(currentBytes, ["sign", "verify"]) };
  byId.set(current.id, current.key);
  return { current, byId, derivedFromSecret, derivedId: derivedFromSecret ? current.id : derivedId };
}

function parseRetiredKeys(text: string | undefined): string[] {
  if (text === undefined || text.trim() === "") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // No parser message: it may quote the secret.
    throw new Error("AUDIT_HMAC_RETIRED_KEYS must be a JSON array of strings (it is not valid JSON)");
  }
  if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === "string" && k !== "")) {
    throw new Error("AUDIT_HMAC_RETIRED_KEYS must be a JSON array of non-empty strings");
  }
  return parsed;
}

export async function reportSigningKeyBytes(secrets: {
  SECRET_KEY: string;
  REPORT_SIGNING_KEY?: string;
}): Promise<Uint8Array> {
  return secrets.REPORT_SIGNING_KEY
    ? utf8(secrets.REPORT_SIGNING_KEY)
    : hkdfSha256(secrets.SECRET_KEY, "chainproof", "report-signing-key", 32);
}

/** Handed out as 64 hex chars; the HMAC key is those ASCII chars, not the decoded bytes. */
export async function reportVerificationKey(kReport: Uint8Array, orgId: string): Promise<string> {
  return toHex(await hkdfSha256(kReport, "chainproof-report", orgId, 32));
}

export async function downloadLinkKey(secretKey: string): Promise<CryptoKey> {
  return importHmacKey(await hkdfSha256(secretKey, "chainproof", "download-links", 32), ["sign", "verify"]);
}
