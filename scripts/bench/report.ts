// The one table printed at the end, and the same figures as JSON.
import { writeFileSync } from "node:fs";

export type Figure = {
  name: string;
  value: number;
  unit: string;
  /** What the value is divided by, measured in the same run. */
  baseline?: { name: string; value: number };
  /**
   * Target for the value itself (`min_value`, `max_value` — e.g. a latency), for value / baseline
   * (`min_ratio`), or a yes/no check made in the run (`check`, e.g. "sha256 matches").
   */
  target?: { min_value?: number; max_value?: number; min_ratio?: number; check?: { what: string; ok: boolean } };
  note?: string;
};

const ratioOf = (f: Figure) => (f.baseline && f.baseline.value > 0 ? f.value / f.baseline.value : undefined);

function verdict(f: Figure): "PASS" | "FAIL" | "" {
  if (!f.target) return "";
  const ratio = ratioOf(f);
  if (f.target.min_value !== undefined && f.value < f.target.min_value) return "FAIL";
  if (f.target.max_value !== undefined && !(f.value <= f.target.max_value)) return "FAIL";
  if (f.target.check && !f.target.check.ok) return "FAIL";
  if (f.target.min_ratio !== undefined && (ratio === undefined || ratio < f.target.min_ratio)) return "FAIL";
  return "PASS";
}

const num = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(n >= 10 ? 1 : 2));

function targetText(f: Figure) {
  const parts = [];
  if (f.target?.min_value !== undefined) parts.push(`≥ ${num(f.target.min_value)} ${f.unit}`);
  if (f.target?.max_value !== undefined) parts.push(`≤ ${num(f.target.max_value)} ${f.unit}`);
  if (f.target?.min_ratio !== undefined) parts.push(`ratio ≥ ${f.target.min_ratio}`);
  if (f.target?.check) parts.push(f.target.check.what);
  return parts.join(", ");
}

export function printTable(figures: Figure[]) {
  const rows = figures.map((f) => {
    const ratio = ratioOf(f);
    return [
      f.name,
      `${num(f.value)} ${f.unit}`,
      f.baseline ? `${f.baseline.name} ${num(f.baseline.value)}` : "",
      ratio === undefined ? "" : ratio.toFixed(2),
      targetText(f),
      verdict(f),
      f.note ?? "",
    ];
  });
  const header = ["figure", "value", "baseline (same run)", "ratio", "target", "", "note"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  console.log(["", line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ""].join("\n"));
}

export function writeJson(file: string, meta: Record<string, unknown>, figures: Figure[]) {
  const out = figures.map((f) => ({ ...f, ratio: ratioOf(f) ?? null, verdict: verdict(f) || null }));
  writeFileSync(file, `${JSON.stringify({ ...meta, figures: out }, null, 2)}\n`);
}
