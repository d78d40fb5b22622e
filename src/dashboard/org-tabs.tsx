import type { FC } from "hono/jsx";
import type { Caller } from "../http/context";

/** The organization page's tabs; Users and tokens only for those who may manage them. */
export const OrgTabs: FC<{ caller: Caller; orgId: string; current: "compliance" | "users" }> = ({ caller, orgId, current }) => (
  <nav aria-label="Organization">
    <ul class="tabs">
      <li>
        <a href={`/orgs/${orgId}/compliance`} aria-current={current === "compliance" ? "page" : undefined}>Compliance</a>
      </li>
      {caller.role !== "member" && (
        <li>
          <a href={`/orgs/${orgId}/users`} aria-current={current === "users" ? "page" : undefined}>Users and tokens</a>
        </li>
      )}
    </ul>
  </nav>
);
