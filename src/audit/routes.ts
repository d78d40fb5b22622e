import { newRouter } from "../http/openapi";
import appendRoutes from "./append-routes";
import bulkExportRoutes from "./export/bulk-routes";
import cappedExportRoutes from "./export/capped-routes";
import integrityRoutes from "./integrity/routes";
import validationRunRoutes from "./integrity/runs-routes";
import readRoutes from "./read/routes";
import referenceRoutes from "./read/reference-routes";
import archiveRoutes from "./retention/routes";
import proofRoutes from "./proofs/routes";

/** The audit log's API, mounted at /api/v1/audit: appending, reading, exporting, integrity. */
const audit = newRouter();
for (const capability of [appendRoutes, integrityRoutes, readRoutes, referenceRoutes, cappedExportRoutes, bulkExportRoutes, validationRunRoutes, archiveRoutes, proofRoutes]) {
  audit.route("/", capability);
}

export default audit;
