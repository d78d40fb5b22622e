import { createRoute, z } from "@hono/zod-openapi";
import { authenticated, errorResponses, json, newRouter } from "../http/openapi";
import { ZoneSchema } from "./schemas";
import { ZONES } from "./zones";

const zones = newRouter();

zones.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listZones",
    tags: ["Services inventory"],
    security: authenticated,
    summary: "The zone catalog: code, country, region and EU membership (reference data, every role)",
    responses: { 200: json(z.object({ items: z.array(ZoneSchema) }).openapi("ZoneList"), "The zones"), ...errorResponses(401) },
  }),
  (c) => c.json({ items: [...ZONES] }, 200),
);

export default zones;
