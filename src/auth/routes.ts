import { createRoute, z } from "@hono/zod-openapi";
import { commitAudited } from "../audit/chain/append";
import { AppError, conflict, forbidden } from "../http/errors";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import { passwordField } from "./password-field";
import { limitBody } from "../http/request-guards";
import { clientInfo } from "../http/context";
import { requireRole } from "./caller";
import { loginWithPassword } from "./login";
import { loginScope } from "./login-scope";
import { hashPassword } from "./password";
import { deleteSessionsExcept, updatePasswordHash } from "./store";

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
    operationId: "getCurrentUser",
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

const ChangePasswordBody = z
  .object({
    current_password: z.string().min(1).max(256),
    new_password: passwordField.openapi({ description: "At least 10 characters, different from the current one" }),
  })
  .strict()
  .refine((b) => b.new_password !== b.current_password, { path: ["new_password"], message: "Must differ from the current password" })
  .openapi("ChangePassword");

me.use("/password", limitBody(16 * 1024));

me.openapi(
  createRoute({
    method: "post",
    path: "/password",
    operationId: "changePassword",
    tags: ["Auth"],
    security: authenticated,
    summary: "Change your own password; your other sessions end",
    description:
      "Users only (not API tokens). `current_password` is checked like a login: a wrong one is a 403 " +
      "`wrong_password` and counts toward the lockout and the per-IP budget (so it can answer 401 " +
      "`account_locked` or 429 `too_many_attempts`). Audited as `password_change` in the user's organization; " +
      "every session of the user ends except the one the request came with. A platform operator without an " +
      "organization uses `npm run admin -- reset-password` instead (409).",
    middleware: [requireRole("member", "org_admin", "super_admin")] as const,
    request: { body: jsonBody(ChangePasswordBody) },
    responses: {
      204: { description: "Changed" },
      ...errorResponses(401, 403, 409, 413, 415, 422),
      429: { description: "Too many failed logins from this address; see Retry-After" },
    },
  }),
  async (c) => {
    const caller = c.get("caller");
    if (caller.via === "bearer" || !caller.username) throw forbidden("API tokens have no password");
    if (!caller.organizationId) {
      throw conflict("A platform operator without an organization changes its password with `npm run admin -- reset-password`");
    }
    const body = c.req.valid("json");
    const user = await loginWithPassword(loginScope(c), caller.username, body.current_password, clientInfo(c)).catch((err: unknown) => {
      if (err instanceof AppError && err.code === "unauthorized") throw new AppError(403, "wrong_password", "current_password is not your password");
      throw err;
    });
    const db = c.get("db");
    await commitAudited(c, caller.organizationId, { action: "password_change", resourceType: "user", resourceId: user.id }, [
      updatePasswordHash(db, user.id, await hashPassword(body.new_password)).toSQL(),
      deleteSessionsExcept(db, user.id, caller.sessionIdHash).toSQL(),
    ]);
    return c.body(null, 204);
  },
);

export default me;
