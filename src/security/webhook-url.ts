/**
 * Which webhook URLs chainproof will POST to: https only, and never a literal private, loopback,
 * link-local or unique-local address, nor localhost. `allowInsecure` (ALLOW_INSECURE_WEBHOOKS,
 * local development and tests only) also admits http and loopback targets.
 *
 * Only what the URL itself says can be checked here: a public name that resolves to a private
 * address is refused by the platform's fetch, not by this function.
 */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

type Cidr4 = [number, number, number, number, number];

const LOOPBACK_V4: Cidr4 = [127, 0, 0, 0, 8];
const BLOCKED_V4: Cidr4[] = [
  [0, 0, 0, 0, 8], // "this network", 0.0.0.0
  [10, 0, 0, 0, 8],
  [100, 64, 0, 0, 10], // carrier-grade NAT
  [169, 254, 0, 0, 16], // link-local, cloud metadata services
  [172, 16, 0, 0, 12],
  [192, 168, 0, 0, 16],
  [224, 0, 0, 0, 3], // multicast, reserved, broadcast
];

const v4Number = (octets: number[]) => octets.reduce((n, o) => n * 256 + o, 0);

function inCidr4(octets: number[], [a, b, c, d, bits]: Cidr4) {
  const size = 2 ** (32 - bits);
  return Math.floor(v4Number(octets) / size) === Math.floor(v4Number([a, b, c, d]) / size);
}

/** The URL parser has already normalized IPv4 hosts (0x7f.1 → 127.0.0.1), so a dotted quad is the only form left. */
function parseV4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** Eight 16-bit groups of a bracketed IPv6 host (as the URL parser writes it), or null. */
function parseV6(host: string): number[] | null {
  if (!host.startsWith("[") || !host.endsWith("]")) return null;
  const text = host.slice(1, -1);
  const [head = "", tail] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
  return all.length === 8 && all.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? all : null;
}

type Target = "public" | "loopback" | "private";

function classifyV4(octets: number[]): Target {
  if (inCidr4(octets, LOOPBACK_V4)) return "loopback";
  return BLOCKED_V4.some((cidr) => inCidr4(octets, cidr)) ? "private" : "public";
}

function classifyV6(g: number[]): Target {
  const first = g[0]!;
  if (g.slice(0, 7).every((x) => x === 0)) return g[7] === 1 ? "loopback" : "private"; // ::1 and ::
  // IPv4-mapped (::ffff:a.b.c.d) reaches the IPv4 address it embeds.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return classifyV4([g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff]);
  }
  if ((first & 0xfe00) === 0xfc00) return "private"; // fc00::/7 unique-local
  if ((first & 0xffc0) === 0xfe80) return "private"; // fe80::/10 link-local
  if ((first & 0xff00) === 0xff00) return "private"; // ff00::/8 multicast
  return "public";
}

function classifyHost(hostname: string): Target {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return "loopback";
  const v4 = parseV4(host);
  if (v4) return classifyV4(v4);
  const v6 = parseV6(host);
  if (v6) return classifyV6(v6);
  return "public";
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
  const target = classifyHost(url.hostname);
  if (target === "private" || (target === "loopback" && !allowInsecure)) {
    return "must not point to a private, loopback, link-local or unique-local address";
  }
  return null;
}
