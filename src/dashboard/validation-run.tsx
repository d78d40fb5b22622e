import type { FC } from "hono/jsx";
import type { ValidationRunRow } from "../ops/validation-store";
import { Mark } from "./components";

/** A validation run's outcome in one line: pass/fail, what was checked, where it broke. */
export const RunSummary: FC<{ run: ValidationRunRow | undefined }> = ({ run }) => {
  if (!run) return <span class="badge warn">No scheduled validation yet</span>;
  const r = run.result as { valid?: boolean; checked?: number; unchained?: number; broken_reason?: string | null; broken_seq?: number | null };
  return (
    <span>
      <Mark ok={r.valid === true} yes="Valid" no="Broken" /> {run.kind} run, finished {run.finishedAt}: {r.checked ?? 0} rows checked
      {r.unchained ? `, ${r.unchained} unchained` : ""}
      {r.valid === false && ` — broken at seq ${r.broken_seq ?? "?"}: ${r.broken_reason ?? "unknown reason"}`}
    </span>
  );
};
