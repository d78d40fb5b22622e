/**
 * The zone catalog: where a service may run or keep its storage. A zone code is
 * `<country>-<city><n>` in lower case, the country being its ISO 3166-1 alpha-2 code.
 */

export const REGIONS = ["europe", "north-america", "asia-pacific"] as const;
export type Region = (typeof REGIONS)[number];
/** A service whose zones lie in more than one region. */
export const MULTI_REGION = "multi-region";
export type ServiceRegion = Region | typeof MULTI_REGION;

/** The 27 EU member states (ISO 3166-1 alpha-2; Greece is GR). Europe is not the EU: GB, CH, NO are not in it. */
export const EU_MEMBER_STATES: ReadonlySet<string> = new Set([
  "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
  "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]);

export type Zone = { code: string; country: string; country_name: string; city: string; region: Region; eu: boolean };

const zone = (code: string, countryName: string, city: string, region: Region): Zone => {
  const country = code.slice(0, 2).toUpperCase();
  return { code, country, country_name: countryName, city, region, eu: EU_MEMBER_STATES.has(country) };
};

export const ZONES: readonly Zone[] = [
  zone("at-vie1", "Austria", "Vienna", "europe"),
  zone("be-bru1", "Belgium", "Brussels", "europe"),
  zone("ch-gva1", "Switzerland", "Geneva", "europe"),
  zone("ch-zrh1", "Switzerland", "Zurich", "europe"),
  zone("de-ber1", "Germany", "Berlin", "europe"),
  zone("de-fra1", "Germany", "Frankfurt", "europe"),
  zone("de-fra2", "Germany", "Frankfurt", "europe"),
  zone("es-mad1", "Spain", "Madrid", "europe"),
  zone("fi-hel1", "Finland", "Helsinki", "europe"),
  zone("fr-par1", "France", "Paris", "europe"),
  zone("gb-lon1", "United Kingdom", "London", "europe"),
  zone("gb-man1", "United Kingdom", "Manchester", "europe"),
  zone("ie-dub1", "Ireland", "Dublin", "europe"),
  zone("it-mil1", "Italy", "Milan", "europe"),
  zone("nl-ams1", "Netherlands", "Amsterdam", "europe"),
  zone("no-osl1", "Norway", "Oslo", "europe"),
  zone("pl-waw1", "Poland", "Warsaw", "europe"),
  zone("se-sto1", "Sweden", "Stockholm", "europe"),
  zone("ca-mtl1", "Canada", "Montreal", "north-america"),
  zone("ca-tor1", "Canada", "Toronto", "north-america"),
  zone("us-chi1", "United States", "Chicago", "north-america"),
  zone("us-dal1", "United States", "Dallas", "north-america"),
  zone("us-nyc1", "United States", "New York", "north-america"),
  zone("us-sfo1", "United States", "San Francisco", "north-america"),
  zone("au-syd1", "Australia", "Sydney", "asia-pacific"),
  zone("in-bom1", "India", "Mumbai", "asia-pacific"),
  zone("jp-osa1", "Japan", "Osaka", "asia-pacific"),
  zone("jp-tyo1", "Japan", "Tokyo", "asia-pacific"),
  zone("kr-sel1", "South Korea", "Seoul", "asia-pacific"),
  zone("sg-sin1", "Singapore", "Singapore", "asia-pacific"),
];

const byCode = new Map(ZONES.map((z) => [z.code, z]));

export const findZone = (code: string) => byCode.get(code);

/**
 * `region`: the one region all zones lie in, or "multi-region". `eu_residency`: every zone AND the
 * storage region lie in EU member states. Callers pass known zone codes only (validated at input).
 */
export function residencyOf(zones: readonly string[], storageRegion: string): { region: ServiceRegion; eu_residency: boolean } {
  const known = zones.map((code) => byCode.get(code));
  const storage = byCode.get(storageRegion);
  const regions = new Set(known.map((z) => z?.region));
  const region = regions.size === 1 && known[0] ? known[0].region : MULTI_REGION;
  const eu = known.length > 0 && known.every((z) => z?.eu === true) && storage?.eu === true;
  return { region, eu_residency: eu };
}
