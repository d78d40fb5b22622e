import { createRoute, z } from "@hono/zod-openapi";
import { requireRole } from "./caller";
import { authenticated, errorResponses, json, newRouter } from "../openapi";

const MeSchema = z
  .object({
    actor_id: z.string(),
    username: z.string().nullable(),
    role: z.string(),
    organization_id: z.string().nullable(),
    via: z.enum(["basic", "bearer", "session"]),
    csrf_token: z.string().optional().openapi({ description: "Only for a session: send it as X-CSRF-Token on changes" }),
  })
  .openapi("Me");

const me = newRouter();

me.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["Auth"],
    security: authenticated,
    summary: "Who the credentials belong to",
    middleware: [requireRole("member", "org_admin", "super_admin")] as const,
    responses: { 200: json(MeSchema, "The caller"), ...errorResponses(401, 403) },
  }),
  (c) => {
    const caller = c.get("caller");
    return c.json(
      {
        actor_id: caller.actorId,
        username: caller.username,
        role: caller.role,
        organization_id: caller.organizationId,
        via: caller.via,
        ...(caller.csrfToken ? { csrf_token: caller.csrfToken } : {}),
      },
      200,
    );
  },
);

export default me;
