import { Hono, type MiddlewareHandler } from "hono";
import { requireRole } from "../auth/caller";
import type { AppEnv } from "../http/context";
import { activityPage } from "./activity-page";
import { compliancePage } from "./compliance-page";
import { renderError } from "./error-page";
import { exportsPage, requestExport } from "./exports-page";
import { integrityPage, validateNow } from "./integrity-page";
import { renderer } from "./layout";
import { loginPage, signIn, signOut } from "./login-page";
import { exportLogs } from "./log-export";
import { logsPage } from "./logs-page";
import { homeOf, orgsPage } from "./orgs-page";
import { recordPage } from "./record-page";
import { securityPage } from "./security-page";
import { dashboardSession } from "./session";
import { changeRole, createToken, createUser, deleteUser, revokeToken, usersPage } from "./users-page";

/**
 * The dashboard: server-rendered pages of the same Worker, signed in with the session cookie.
 * Each page calls the domain modules the API routes call, never the API over HTTP.
 */
const dashboard = new Hono<AppEnv>();
const ADMINS = ["org_admin", "super_admin"] as const;

// Only the dashboard's own paths: a catch-all here would also catch the API's unknown paths.
const PAGES = ["/", "/logs", "/logs/*", "/security", "/activity", "/exports", "/orgs", "/orgs/*", "/integrity", "/integrity/*"];
dashboard.use("/login", renderer);
dashboard.use("/logout", renderer);
// A signed-in page shows a tenant's audit data: never kept by the browser for the next user of the machine.
const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
};
for (const path of PAGES) dashboard.use(path, renderer, dashboardSession(), noStore);

dashboard.get("/login", loginPage);
dashboard.post("/login", signIn);
dashboard.post("/logout", signOut);
dashboard.get("/", (c) => c.redirect(homeOf(c.get("caller").role), 303));

dashboard.get("/logs", logsPage);
dashboard.post("/logs/export", requireRole(...ADMINS), exportLogs);
dashboard.get("/logs/:id", recordPage);
dashboard.get("/security", requireRole(...ADMINS), securityPage);
dashboard.get("/activity", requireRole(...ADMINS), activityPage);
dashboard.get("/exports", requireRole(...ADMINS), (c) => exportsPage(c));
dashboard.post("/exports", requireRole(...ADMINS), requestExport);

dashboard.get("/orgs", requireRole("super_admin"), orgsPage);
// The id goes back into a Location header: encoded, so a decoded CR/LF or slash stays part of the id (a 404 there), never a 500.
dashboard.get("/orgs/:orgId", (c) => c.redirect(`/orgs/${encodeURIComponent(c.req.param("orgId"))}/compliance`, 303));
dashboard.get("/orgs/:orgId/compliance", compliancePage);
dashboard.get("/orgs/:orgId/users", requireRole(...ADMINS), (c) => usersPage(c));
dashboard.post("/orgs/:orgId/users", requireRole(...ADMINS), createUser);
dashboard.post("/orgs/:orgId/users/:userId/role", requireRole(...ADMINS), changeRole);
dashboard.post("/orgs/:orgId/users/:userId/delete", requireRole(...ADMINS), deleteUser);
dashboard.post("/orgs/:orgId/tokens", requireRole(...ADMINS), createToken);
dashboard.post("/orgs/:orgId/tokens/:tokenId/revoke", requireRole(...ADMINS), revokeToken);

dashboard.get("/integrity", requireRole("super_admin"), (c) => integrityPage(c));
dashboard.post("/integrity/:orgId/validate", requireRole("super_admin"), validateNow);

dashboard.onError(renderError);

export default dashboard;
