import { sha256Hex } from "../crypto/encoding";
import { parseIpv4, parseIpv6, type Range, specialIpv4, specialIpv6 } from "./special-addresses";

/**
 * Which webhook URLs chainproof will POST to: https only, to a public name or a public address.
 * `allowInsecure` (ALLOW_INSECURE_WEBHOOKS, local development and tests only) also admits http and
 * plain loopback (127.0.0.0/8, ::1, localhost), nothing else special.
 *
 * Only what the URL itself says can be checked: Workers have no DNS API, so a public name that
 * resolves to a private address cannot be caught here. Cloudflare's fetch itself does not connect
 * to private or reserved addresses from a deployed Worker; this check keeps out what the URL
 * spells directly, in any of its encodings (the URL parser normalizes them before we look).
 */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Names that never lead to a public receiver: RFC 6761 / IANA special-use domain names, `.internal`
 * (reserved by ICANN for private use) and all of `.arpa` (home.arpa, ipv4only.arpa, in-addr.arpa …).
 */
const SPECIAL_USE_NAMES = ["localhost", "local", "internal", "arpa", "invalid", "test", "onion", "alt"];

type Host = { kind: "public" } | { kind: "loopback" | "special"; what: string };

const ofRange = (range: Range | null): Host =>
  range === null ? { kind: "public" } : { kind: range.name === "loopback" ? "loopback" : "special", what: `${range.name}, ${range.cidr}` };

function classifyHost(hostname: string): Host {
  const host = hostname.replace(/\.$/, "");
  if (host.startsWith("[")) {
    const v6 = parseIpv6(host.slice(1, -1));
    return v6 === null ? { kind: "special", what: "unparseable IPv6" } : ofRange(specialIpv6(v6));
  }
  const v4 = parseIpv4(host);
  if (v4 !== null) return ofRange(specialIpv4(v4));
  const name = SPECIAL_USE_NAMES.find((n) => host === n || host.endsWith(`.${n}`));
  if (name) return { kind: name === "localhost" ? "loopback" : "special", what: `special-use name .${name}` };
  // A single label is looked up through the resolver's search domains: an internal host.
  if (!host.includes(".")) return { kind: "special", what: "single-label name" };
  return { kind: "public" };
}

/** Why `raw` may not be used as a webhook URL, or null when it may. */
export function webhookUrlProblem(raw: string, allowInsecure: boolean): string | null {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  const schemes = allowInsecure ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) return allowInsecure ? "must use http or https" : "must use https";
  if (url.username || url.password) return "must not carry credentials; the signature authenticates chainproof";
  const host = classifyHost(url.hostname);
  if (host.kind === "special" || (host.kind === "loopback" && !allowInsecure)) {
    return `must point to a public host; ${url.hostname} is special-use (${host.what})`;
  }
  return null;
}

/**
 * What the chain may keep of a webhook URL: its origin and a SHA-256 of the whole URL. The chain
 * is permanent, and a path or query can carry the receiver's token.
 */
export async function webhookFingerprint(url: string) {
  return { webhook_origin: new URL(url).origin, webhook_url_sha256: await sha256Hex(url) };
}
