import { createRoute } from "@hono/zod-openapi";
import { requireRole } from "../auth/caller";
import { scopeOrganization } from "../auth/tenancy";
import { changedFields, commitAudited } from "../audit/chain/append";
import { forbidden } from "../http/errors";
import { limitBody } from "../http/request-guards";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import { isoNow } from "../time";
import {
  CreateOrganizationBody,
  listOf,
  OrganizationSchema,
  OrgIdParam,
  toOrganization,
  UpdateOrganizationBody } from "./schemas";
import { findOrganization } from "../auth/store";
import * as store from "./store";

/** The organizations routes of /api/v1/organizations. */
const orgs = newRouter();
const tags = ["Organizations"];
const security = authenticated;
const bodyLimit = limitBody(64 * 1024);

orgs.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createOrganization",
    tags,
    security,
    summary: "Create an organization (super_admin)",
    middleware: [requireRole("super_admin"), bodyLimit] as const,
    request: { body: jsonBody(CreateOrganizationBody) },
    responses: { 201: json(OrganizationSchema, "Created"), ...errorResponses(401, 403, 413, 415, 422) },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const org = { id: crypto.randomUUID(), name: body.name, settings: body.settings ?? {}, createdAt: isoNow() };
    await commitAudited(
      c,
      org.id,
      { action: "create", resourceType: "organization", resourceId: org.id, newState: { name: org.name, settings: org.settings } },
      [store.insertOrganization(c.get("db"), org).toSQL()],
    );
    return c.json(toOrganization(org), 201);
  },
);

orgs.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listOrganizations",
    tags,
    security,
    summary: "Organizations the caller may administer (all of them for super_admin)",
    middleware: [requireRole("super_admin", "org_admin")] as const,
    responses: { 200: json(listOf(OrganizationSchema, "OrganizationList"), "The organizations"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    const caller = c.get("caller");
    const db = c.get("db");
    const rows =
      caller.role === "super_admin"
        ? await store.listOrganizations(db)
        : [await findOrganization(db, caller.organizationId!)].filter((o) => o !== undefined);
    return c.json({ items: rows.map(toOrganization) }, 200);
  },
);

orgs.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}",
    operationId: "getOrganization",
    tags,
    security,
    summary: "One organization",
    request: { params: OrgIdParam },
    responses: { 200: json(OrganizationSchema, "The organization"), ...errorResponses(401, 403, 404) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    return c.json(toOrganization(org), 200);
  },
);

orgs.openapi(
  createRoute({
    method: "patch",
    path: "/{orgId}",
    operationId: "updateOrganization",
    tags,
    security,
    summary: "Rename an organization or change its settings; the tier is super_admin's",
    middleware: [requireRole("super_admin", "org_admin"), bodyLimit] as const,
    request: { params: OrgIdParam, body: jsonBody(UpdateOrganizationBody) },
    responses: { 200: json(OrganizationSchema, "Updated"), ...errorResponses(401, 403, 404, 413, 415, 422) },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, ["super_admin", "org_admin"]);
    const body = c.req.valid("json");
    if (body.settings && "tier" in body.settings && c.get("caller").role !== "super_admin") {
      throw forbidden("Only a super_admin may change the tier");
    }
    const updated = { ...org, name: body.name ?? org.name, settings: body.settings ? { ...org.settings, ...body.settings } : org.settings };
    const changes = changedFields({ name: org.name, ...org.settings }, { name: updated.name, ...updated.settings });
    if (Object.keys(changes).length > 0) {
      await commitAudited(
        c,
        org.id,
        {
          action: body.settings ? "config_change" : "update",
          resourceType: "organization",
          resourceId: org.id,
          changes,
          previousState: { name: org.name, settings: org.settings },
          newState: { name: updated.name, settings: updated.settings },
        },
        [store.updateOrganization(c.get("db"), org.id, { name: updated.name, settings: updated.settings }).toSQL()],
      );
    }
    return c.json(toOrganization(updated), 200);
  },
);


export default orgs;
