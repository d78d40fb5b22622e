/**
 * Risk bands: what the `severity` filter and the summaries mean. They are computed from
 * `risk_score`, never from the stored `severity` text (which is whatever the sender chose).
 */
export const SEVERITY_BANDS = ["low", "medium", "high", "critical"] as const;
export type SeverityBand = (typeof SEVERITY_BANDS)[number];

export const BAND_RANGES: Record<SeverityBand, { min: number; max: number }> = {
  low: { min: 0, max: 19 },
  medium: { min: 20, max: 49 },
  high: { min: 50, max: 79 },
  critical: { min: 80, max: 100 },
};

/** Events at or above this risk are the summary's "high-risk events". */
export const HIGH_RISK_SCORE = BAND_RANGES.high.min;

export function bandOf(riskScore: number): SeverityBand {
  return SEVERITY_BANDS.find((band) => riskScore <= BAND_RANGES[band].max) ?? "critical";
}
