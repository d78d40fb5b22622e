/** RFC 3339 UTC with exactly three fractional digits, the only timestamp form chainproof stores. */
export const isoNow = (now: number = Date.now()) => new Date(now).toISOString();

// ISO 8601 date-times with a zone, extended (2026-03-01T10:15:00.5+01:00) or basic (20260301T101500Z)
// format, seconds and fraction optional, `,` or `.` before the fraction, T and Z in either case.
const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)$/;
const BASIC = /^(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(?:(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?:\d{2})?)$/;

/**
 * The instant (ms since the epoch) an ISO 8601 date-time with a time zone names, or null when the
 * text is not one or names no real moment (2026-02-30, 25:00, an offset beyond ±23:59). Digits past
 * the millisecond are dropped, as chainproof stores milliseconds. A time without a zone is refused:
 * it names no single instant.
 */
export function parseIsoDateTime(text: string): number | null {
  const m = EXTENDED.exec(text) ?? BASIC.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? "").slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  const zone = m[8]!;
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const [zoneHours, zoneMinutes] = [Number(digits.slice(0, 2)), Number(digits.slice(2) || 0)];
    if (zoneHours > 23 || zoneMinutes > 59) return null;
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
