/**
 * Special-use IP addresses: the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (https://www.iana.org/assignments/iana-ipv4-special-registry,
 * https://www.iana.org/assignments/iana-ipv6-special-registry), plus multicast. Every entry is
 * refused as a webhook destination, including the few the registry marks globally reachable
 * (anycast services such as AS112 or AMT): none of them is anyone's alert receiver.
 */
const IPV4_SPECIAL: [cidr: string, name: string][] = [
  ["0.0.0.0/8", "\"this network\""],
  ["10.0.0.0/8", "private-use"],
  ["100.64.0.0/10", "shared address space (carrier-grade NAT)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local (cloud metadata services)"],
  ["172.16.0.0/12", "private-use"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation (TEST-NET-1)"],
  ["192.31.196.0/24", "AS112-v4"],
  ["192.52.193.0/24", "AMT"],
  ["192.88.99.0/24", "deprecated 6to4 relay anycast"],
  ["192.168.0.0/16", "private-use"],
  ["192.175.48.0/24", "direct delegation AS112 service"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation (TEST-NET-2)"],
  ["203.0.113.0/24", "documentation (TEST-NET-3)"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved (and limited broadcast)"],
];

/** Most specific first: the first match names the range. */
const IPV6_SPECIAL: [cidr: string, name: string][] = [
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::ffff:0:0/96", "IPv4-mapped"],
  ["::/96", "IPv4-compatible (deprecated)"],
  ["64:ff9b::/96", "IPv4/IPv6 translation (NAT64)"],
  ["64:ff9b:1::/48", "local-use IPv4/IPv6 translation"],
  ["100::/64", "discard-only"],
  ["100:0:0:1::/64", "dummy IPv6 prefix"],
  ["2001::/32", "Teredo"],
  ["2001::/23", "IETF protocol assignments"],
  ["2001:db8::/32", "documentation"],
  ["2002::/16", "6to4"],
  ["2620:4f:8000::/48", "direct delegation AS112 service"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "segment routing (SRv6) SIDs"],
  ["fc00::/7", "unique-local"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
];

/** Only 2000::/3 is allocated as global unicast; everything else is reserved by the IETF. */
const IPV6_GLOBAL_UNICAST = "2000::/3";

/** A dotted quad as a number, or null. The WHATWG URL parser has already turned 0x7f.1, 2130706433 and 0177.0.0.1 into one. */
export function parseIpv4(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n);
}

/** An IPv6 address in hex groups (how the URL parser writes it, without brackets) as a number, or null. */
export function parseIpv6(text: string): bigint | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export type Range = { cidr: string; name: string; network: bigint; bits: number };

function ranges(table: [string, string][], parse: (text: string) => bigint | null): Range[] {
  return table.map(([cidr, name]) => {
    const [address = "", bits = ""] = cidr.split("/");
    const network = parse(address);
    if (network === null) throw new Error(`bad CIDR in the special-purpose table: ${cidr}`);
    return { cidr, name, network, bits: Number(bits) };
  });
}

const V4 = ranges(IPV4_SPECIAL, parseIpv4);
const V6 = ranges(IPV6_SPECIAL, parseIpv6);
const [GLOBAL_UNICAST] = ranges([[IPV6_GLOBAL_UNICAST, "global unicast"]], parseIpv6);

const within = (address: bigint, width: number, { network, bits }: Range) => address >> BigInt(width - bits) === network >> BigInt(width - bits);

const RESERVED_V6: Range = { cidr: "outside 2000::/3", name: "reserved by the IETF", network: 0n, bits: 0 };

/** The special-purpose range that holds the IPv4 address, or null for an ordinary public address. */
export const specialIpv4 = (address: bigint) => V4.find((r) => within(address, 32, r)) ?? null;

/** The special-purpose range that holds the IPv6 address, or null for an ordinary public address. */
export function specialIpv6(address: bigint): Range | null {
  const named = V6.find((r) => within(address, 128, r));
  if (named) return named;
  return within(address, 128, GLOBAL_UNICAST!) ? null : RESERVED_V6;
}
