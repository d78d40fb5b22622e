import { newRouter } from "../http/openapi";
import eventRoutes from "./event-routes";
import webhookRoutes from "./webhook-routes";

/** Security events and alerts (under /api/v1/audit) and the alert webhook of an organization, mounted at /api/v1. */
const security = newRouter();
security.route("/audit", eventRoutes);
security.route("/organizations", webhookRoutes);

export default security;
