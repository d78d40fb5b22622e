import type { FC } from "hono/jsx";
import type { FieldError } from "../http/errors";
import type { Organization } from "../orgs/store";

/** A pass/fail mark that says it in words too, not by colour alone. */
export const Mark: FC<{ ok: boolean | null; yes?: string; no?: string }> = ({ ok, yes = "Pass", no = "Fail" }) =>
  ok === null ? (
    <span class="badge warn">Unknown</span>
  ) : (
    <span class={`badge ${ok ? "pass" : "fail"}`}>
      {ok ? "✓" : "✗"} {ok ? yes : no}
    </span>
  );

export const FieldErrors: FC<{ errors: FieldError[] }> = ({ errors }) =>
  errors.length === 0 ? null : (
    <div class="error" role="alert">
      <p>Please correct:</p>
      <ul>
        {errors.map((e) => (
          <li>
            <strong>{e.field}</strong>: {e.message}
          </li>
        ))}
      </ul>
    </div>
  );

/** Links to the pages before and after, keeping the current filters. */
/** `totalExact: false`: more match than were counted (the audit log counts up to a cap). */
export const Pager: FC<{ path: string; query: URLSearchParams; page: number; pages: number; total: number; totalExact?: boolean }> = ({
  path,
  query,
  page,
  pages,
  total,
  totalExact = true,
}) => {
  const at = (n: number) => {
    const q = new URLSearchParams(query);
    q.set("page", String(n));
    return `${path}?${q}`;
  };
  return (
    <nav aria-label="Pages">
      <p>
        {totalExact ? total : `more than ${total}`} in total · page {page} of {Math.max(pages, 1)}{" "}
        {page > 1 && (
          <a href={at(page - 1)} rel="prev">
            ← Newer
          </a>
        )}{" "}
        {page < pages && (
          <a href={at(page + 1)} rel="next">
            Older →
          </a>
        )}
      </p>
    </nav>
  );
};

/** A super_admin's pages need an organization: choose one. */
export const OrgPicker: FC<{ orgs: Organization[]; path: string }> = ({ orgs, path }) => (
  <>
    <p>Choose the organization to show.</p>
    <ul>
      {orgs.map((o) => (
        <li>
          <a href={`${path}?organization_id=${o.id}`}>{o.name}</a> <code>{o.id}</code>
        </li>
      ))}
    </ul>
  </>
);

/** Query text for links: only the parameters that are set. */
export function queryOf(values: Record<string, string | string[] | number | undefined>) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(key, String(v));
  }
  return q;
}
