// The read dataset: varied records, as an organization's log looks after months of use, and the
// parameters of the five typical queries drawn from the same distributions (so each query matches rows).
// Seeded, so a rerun builds the same records (ids, seqs and seals are the server's).

/** mulberry32: small, fast and good enough to spread records; not for anything secret. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export type Rng = ReturnType<typeof prng>;

const pick = <T>(rng: Rng, items: readonly T[]) => items[Math.floor(rng() * items.length)]!;

/** An RFC 9562 version-4 UUID from the seeded generator (the API checks version and variant). */
function uuid(rng: Rng) {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16));
  hex[12] = "4";
  hex[16] = "89ab"[Math.floor(rng() * 4)]!;
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const ACTIONS = ["read", "update", "create", "delete", "login", "logout", "export", "config_change"] as const;
const RESOURCE_KINDS = ["device", "service", "network", "firewall_rule", "policy", "setting"] as const;
const AGENTS = ["chainproof-cli/1.4", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", "terraform-provider/2.1", null] as const;
/** Appears in ~1% of rows' metadata and nowhere else (not hex, so never inside a UUID). */
export const SEARCH_WORD = "kumquat";
const SEARCH_SHARE = 0.01;
export const ACTORS_PER_ORG = 50;
export const RESOURCES_PER_ORG = 1000;
export const SPAN_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;

export type Resource = { type: (typeof RESOURCE_KINDS)[number]; id: string };
export type OrgProfile = { actors: string[]; resources: Resource[] };

/**
 * The records of `orgs` organizations over the SPAN_DAYS days before `endMs`. `batch(org, n)` gives the
 * next n records of that org's stream; profiles hold the actor and resource ids the queries draw from.
 */
export function readDataset(orgs: number, endMs: number, seed = 20261126) {
  const profiles: OrgProfile[] = [];
  const streams: Rng[] = [];
  const counters: number[] = [];
  for (let i = 0; i < orgs; i++) {
    const rng = prng(seed + i * 7919);
    profiles.push({
      actors: Array.from({ length: ACTORS_PER_ORG }, () => uuid(rng)),
      resources: Array.from({ length: RESOURCES_PER_ORG }, () => ({ type: pick(rng, RESOURCE_KINDS), id: uuid(rng) })),
    });
    streams.push(rng);
    counters.push(0);
  }
  const startMs = endMs - SPAN_DAYS * DAY_MS;
  const batch = (org: number, n: number) => {
    const rng = streams[org]!;
    const { actors, resources } = profiles[org]!;
    return Array.from({ length: n }, () => {
      const resource = pick(rng, resources);
      const flagged = rng() < SEARCH_SHARE;
      return {
        actor_id: pick(rng, actors),
        action: pick(rng, ACTIONS),
        resource_type: resource.type,
        resource_id: resource.id,
        status: rng() < 0.95 ? "success" : "failure",
        ip_address: `10.${Math.floor(rng() * 256)}.${Math.floor(rng() * 256)}.${Math.floor(rng() * 256)}`,
        user_agent: pick(rng, AGENTS),
        timestamp: new Date(startMs + Math.floor(rng() * (endMs - startMs))).toISOString(),
        metadata: { request: ++counters[org]!, note: flagged ? `flagged ${SEARCH_WORD} review` : "routine" },
      };
    });
  };
  return { profiles, batch, startMs, endMs };
}
export type ReadDataset = ReturnType<typeof readDataset>;

/** What one query asks; `org` indexes the dataset's organizations. */
export type QueryArgs = {
  org: number;
  startDate?: string;
  endDate?: string;
  action?: string;
  actorId?: string;
  resource?: Resource;
  search?: string;
};

export type QueryKind = { key: string; label: string; args: (rng: Rng, org: number) => QueryArgs };

/** Record numbers (`metadata.request`, from 1 in each organization) that the one-match search draws from; the default datasets hold more. */
const RARE_SEARCH_RANGE = 10_000;

/** The five typical queries of the "reading" issue and a search with one match; each call draws fresh values. */
export function queryKinds(data: ReadDataset): QueryKind[] {
  const week = (rng: Rng) => {
    const start = data.startMs + Math.floor(rng() * (data.endMs - data.startMs - 7 * DAY_MS));
    return { startDate: new Date(start).toISOString(), endDate: new Date(start + 7 * DAY_MS).toISOString() };
  };
  return [
    { key: "week", label: "(1) org + 1-week range", args: (rng, org) => ({ org, ...week(rng) }) },
    { key: "week_action", label: "(2) + action", args: (rng, org) => ({ org, ...week(rng), action: pick(rng, ACTIONS) }) },
    {
      key: "week_action_actor",
      label: "(3) + action + actor_id",
      args: (rng, org) => ({ org, ...week(rng), action: pick(rng, ACTIONS), actorId: pick(rng, data.profiles[org]!.actors) }),
    },
    { key: "resource", label: "(4) /logs/resource/{type}/{id}", args: (rng, org) => ({ org, resource: pick(rng, data.profiles[org]!.resources) }) },
    { key: "search", label: `(5) search=${SEARCH_WORD}`, args: (_rng, org) => ({ org, search: SEARCH_WORD }) },
    // One record's own number (metadata is stored as JCS: {"note":…,"request":N}): one match in the organization.
    { key: "search_one", label: "(6) search, one match", args: (rng, org) => ({ org, search: `"request":${1 + Math.floor(rng() * RARE_SEARCH_RANGE)}}` }) },
  ];
}
