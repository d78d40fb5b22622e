import { TIERS, type OrgSettings, type Tier } from "../db/schema";

/** The organization's tier; absent or invalid reads as FREE. */
export function orgTier(settings: OrgSettings | null | undefined): Tier {
  const tier = settings?.tier;
  return (TIERS as readonly unknown[]).includes(tier) ? (tier as Tier) : "FREE";
}
