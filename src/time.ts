/** RFC 3339 UTC with exactly three fractional digits, the only timestamp form chainproof stores. */
export const isoNow = (now: number = Date.now()) => new Date(now).toISOString();
