import type { FC } from "hono/jsx";

const WIDTH = 640;
const HEIGHT = 160;
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_DAYS = 366;

/** Every day from start to end (UTC dates), so days without records show as empty bars. */
export function everyDay(start: string, end: string, counts: { date: string; count: number }[]) {
  // Over a long period a bar per calendar day would be thinner than a pixel: only the days with records.
  if (Date.parse(end) - Date.parse(start) > MAX_DAYS * DAY_MS) return counts;
  const byDate = new Map(counts.map((d) => [d.date, d.count]));
  const days: { date: string; count: number }[] = [];
  for (let t = Date.parse(start.slice(0, 10)); t <= Date.parse(end.slice(0, 10)); t += DAY_MS) {
    const date = new Date(t).toISOString().slice(0, 10);
    days.push({ date, count: byDate.get(date) ?? 0 });
  }
  return days;
}

/** Records per day as an inline SVG bar chart; the numbers are in the bars' titles and in the table beside it. */
export const DayChart: FC<{ days: { date: string; count: number }[] }> = ({ days }) => {
  const max = Math.max(1, ...days.map((d) => d.count));
  const bar = WIDTH / Math.max(days.length, 1);
  return (
    <svg viewBox={`0 0 ${WIDTH} ${HEIGHT + 20}`} width="100%" style="max-width:48rem" role="img" aria-label={`Records per day, ${days[0]?.date ?? ""} to ${days.at(-1)?.date ?? ""}; busiest day ${max}`}>
      <line x1="0" y1={HEIGHT} x2={WIDTH} y2={HEIGHT} stroke="#555" />
      {days.map((d, i) => {
        const h = Math.round((d.count / max) * (HEIGHT - 10));
        return (
          <rect x={(i * bar + 1).toFixed(1)} y={HEIGHT - h} width={Math.max(bar - 2, 1).toFixed(1)} height={h} fill="#0b4f9c">
            <title>{`${d.date}: ${d.count}`}</title>
          </rect>
        );
      })}
      <text x="0" y={HEIGHT + 16} font-size="12" fill="#1a1a1a">{days[0]?.date}</text>
      <text x={WIDTH} y={HEIGHT + 16} font-size="12" fill="#1a1a1a" text-anchor="end">{days.at(-1)?.date}</text>
      <text x="4" y="12" font-size="12" fill="#1a1a1a">max {max}</text>
    </svg>
  );
};
