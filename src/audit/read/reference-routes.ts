import { createRoute, z } from "@hono/zod-openapi";
import { authenticated, errorResponses, json, newRouter } from "../../http/openapi";
import { AUDIT_ACTIONS, RESOURCE_TYPES, SECURITY_EVENT_TYPES } from "../chain/enums";

/** The fixed enumerations, for every authenticated caller (ingest tokens included). */
const reference = newRouter();

const lists = [
  ["/actions", "AuditAction values", AUDIT_ACTIONS, "listAuditActions"],
  ["/resource-types", "ResourceType values", RESOURCE_TYPES, "listResourceTypes"],
  ["/security-event-types", "SecurityEventType values", SECURITY_EVENT_TYPES, "listSecurityEventTypes"],
] as const;

const EnumList = z.object({ items: z.array(z.string()) }).openapi("EnumList");

for (const [path, summary, values, operationId] of lists) {
  reference.openapi(
    createRoute({
      method: "get",
      path,
      operationId,
      tags: ["Reference"],
      security: authenticated,
      summary,
      responses: { 200: json(EnumList, summary), ...errorResponses(401) },
    }),
    (c) => c.json({ items: [...values] }, 200),
  );
}

export default reference;
