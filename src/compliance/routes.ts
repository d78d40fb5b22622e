import { newRouter } from "../http/openapi";
import { reports, verification } from "./report-routes";
import serviceRoutes from "./service-routes";
import zoneRoutes from "./zone-routes";

/** The services inventory, the zone catalog, reports and their verification, mounted at /api/v1. */
const compliance = newRouter();
compliance.route("/organizations", serviceRoutes);
compliance.route("/organizations", reports);
compliance.route("/compliance", verification);
compliance.route("/zones", zoneRoutes);

export default compliance;
