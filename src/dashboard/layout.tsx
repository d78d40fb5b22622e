import type { FC, PropsWithChildren } from "hono/jsx";
import { jsxRenderer } from "hono/jsx-renderer";
import type { Caller } from "../http/context";
import { STYLES } from "./styles";

declare module "hono" {
  interface ContextRenderer {
    (content: string | Promise<string>, props: PageProps): Response | Promise<Response>;
  }
}

/** `caller` is absent on the sign-in page; `orgId` carries a super_admin's chosen organization into the links. */
export type PageProps = { title: string; caller?: Caller; orgId?: string | null; current?: string };

type Link = { href: string; label: string; key: string };

/** What each role may open (README.md, "Identities and roles"): the menu never offers a page the role is refused. */
export function menuFor(caller: Caller, orgId: string | null | undefined): Link[] {
  const q = caller.role === "super_admin" && orgId ? `?organization_id=${orgId}` : "";
  const orgPage = orgId ?? caller.organizationId;
  const org: Link[] = orgPage ? [{ href: `/orgs/${orgPage}/compliance`, label: "Organization", key: "org" }] : [];
  if (caller.role === "member") return [{ href: "/logs", label: "My history", key: "logs" }, ...org];
  const admin: Link[] = [
    { href: `/logs${q}`, label: "Logs", key: "logs" },
    { href: `/security${q}`, label: "Security", key: "security" },
    { href: `/activity${q}`, label: "Activity", key: "activity" },
    { href: `/exports${q}`, label: "Exports", key: "exports" },
    ...org,
  ];
  if (caller.role === "org_admin") return admin;
  return [{ href: "/orgs", label: "Organizations", key: "orgs" }, ...admin, { href: "/integrity", label: "Integrity", key: "integrity" }];
}

export const CsrfField: FC<{ caller: Caller }> = ({ caller }) => <input type="hidden" name="_csrf" value={caller.csrfToken ?? ""} />;

const Header: FC<{ caller: Caller; orgId?: string | null; current?: string }> = ({ caller, orgId, current }) => (
  <header>
    <a href="/">
      <strong>chainproof</strong>
    </a>
    <nav aria-label="Main">
      <ul>
        {menuFor(caller, orgId).map((link) => (
          <li>
            <a href={link.href} aria-current={link.key === current ? "page" : undefined}>
              {link.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
    <form method="post" action="/logout">
      <CsrfField caller={caller} />
      <span>
        {caller.username} ({caller.role}){" "}
      </span>
      <button type="submit" class="secondary">
        Sign out
      </button>
    </form>
  </header>
);

export const renderer = jsxRenderer(
  ({ children, title, caller, orgId, current }: PropsWithChildren<PageProps>) => (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · chainproof`}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLES }} />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        {caller && <Header caller={caller} orgId={orgId} current={current} />}
        <main id="main">{children}</main>
      </body>
    </html>
  ),
  { docType: true },
);
