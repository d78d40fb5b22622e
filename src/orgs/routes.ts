import { newRouter } from "../http/openapi";
import orgRoutes from "./org-routes";
import tokenRoutes from "./token-routes";
import userRoutes from "./user-routes";

/** Organizations, their users and their API tokens, mounted at /api/v1/organizations. */
const orgs = newRouter();
orgs.route("/", orgRoutes);
orgs.route("/", userRoutes);
orgs.route("/", tokenRoutes);

export default orgs;
