import { requireRole } from "../auth/caller";
import { createRoute, z } from "@hono/zod-openapi";
import { changedFields, commitAudited } from "../audit/chain/append";
import { scopeOrganization } from "../auth/tenancy";
import type { Role } from "../db/schema";
import { notFound } from "../http/errors";
import { authenticated, errorResponses, json, jsonBody, newRouter } from "../http/openapi";
import { OrgIdParam } from "../orgs/schemas";
import { limitBody } from "../http/request-guards";
import { isoNow } from "../time";
import { BackupBody, BackupSchema, ServiceBody, ServiceIdParam, ServiceSchema, toBackup, toService } from "./schemas";
import * as store from "./store";

const services = newRouter();
const tags = ["Services inventory"];
const security = authenticated;
/** A platform's ingest token keeps the inventory current; it reads nothing back (README.md, "Identities and roles"). */
const WRITERS: Role[] = ["super_admin", "org_admin", "ingest"];
const READERS: Role[] = ["super_admin", "org_admin"];
const bodyLimit = limitBody(64 * 1024);

/** What the audit trail records of a service: everything the API shows but ids and timestamps. */
function stateOf(row: store.Service): Record<string, unknown> {
  const { id: _id, organization_id: _org, created_at: _created, updated_at: _updated, ...state } = toService(row);
  return state;
}

services.openapi(
  createRoute({
    method: "put",
    path: "/{orgId}/services/{serviceId}",
    operationId: "upsertService",
    tags,
    security,
    summary: "Create or replace a service of the organization (org_admin, ingest)",
    middleware: [requireRole(...WRITERS), bodyLimit] as const,
    request: { params: ServiceIdParam, body: jsonBody(ServiceBody) },
    responses: {
      200: json(ServiceSchema, "Updated (or unchanged)"),
      201: json(ServiceSchema, "Created"),
      ...errorResponses(401, 403, 404, 409, 413, 415, 422),
    },
  }),
  async (c) => {
    const { orgId, serviceId } = c.req.valid("param");
    const org = await scopeOrganization(c, orgId, WRITERS);
    const body = c.req.valid("json");
    const db = c.get("db");
    const now = isoNow();
    const fields: store.ServiceChanges = {
      name: body.name,
      databaseType: body.database_type,
      version: body.version,
      status: body.status,
      zones: body.zones,
      storageRegion: body.storage_region,
      storageEncrypted: body.storage_encrypted,
      backupEncryptionEnabled: body.backup_encryption_enabled,
      tlsEnabled: body.tls_enabled,
      backupScheduleEnabled: body.backup_policy.schedule_enabled,
      backupScheduleCron: body.backup_policy.schedule_cron,
      backupRetentionDays: body.backup_policy.retention_days,
      updatedAt: now,
    };
    const existing = await store.findService(db, org.id, serviceId);
    if (!existing) {
      const row: store.Service = { organizationId: org.id, id: serviceId, ...fields, createdAt: now };
      await commitAudited(
        c,
        org.id,
        { action: "create", resourceType: "service", resourceId: serviceId, newState: stateOf(row), metadata: { service_id: serviceId } },
        [store.insertService(db, row).toSQL()],
      );
      return c.json(toService(row), 201);
    }
    const updated: store.Service = { ...existing, ...fields };
    const changes = changedFields(stateOf(existing), stateOf(updated));
    if (Object.keys(changes).length === 0) return c.json(toService(existing), 200);
    await commitAudited(
      c,
      org.id,
      {
        action: "update",
        resourceType: "service",
        resourceId: serviceId,
        changes,
        previousState: stateOf(existing),
        newState: stateOf(updated),
        metadata: { service_id: serviceId },
      },
      [store.updateService(db, org.id, serviceId, fields).toSQL()],
    );
    return c.json(toService(updated), 200);
  },
);

services.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}/services",
    operationId: "listServices",
    tags,
    security,
    summary: "The organization's services, by id",
    request: { params: OrgIdParam },
    responses: {
      200: json(z.object({ items: z.array(ServiceSchema) }).openapi("ServiceList"), "The services"),
      ...errorResponses(401, 403, 404, 422),
    },
  }),
  async (c) => {
    const org = await scopeOrganization(c, c.req.valid("param").orgId, READERS);
    return c.json({ items: (await store.listServices(c.get("db"), org.id)).map(toService) }, 200);
  },
);

services.openapi(
  createRoute({
    method: "get",
    path: "/{orgId}/services/{serviceId}",
    operationId: "getService",
    tags,
    security,
    summary: "One service",
    request: { params: ServiceIdParam },
    responses: { 200: json(ServiceSchema, "The service"), ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const { orgId, serviceId } = c.req.valid("param");
    const org = await scopeOrganization(c, orgId, READERS);
    const service = await store.findService(c.get("db"), org.id, serviceId);
    if (!service) throw notFound("Service");
    return c.json(toService(service), 200);
  },
);

services.openapi(
  createRoute({
    method: "delete",
    path: "/{orgId}/services/{serviceId}",
    operationId: "deleteService",
    tags,
    security,
    summary: "Delete a service and its recorded backups",
    request: { params: ServiceIdParam },
    responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 422) },
  }),
  async (c) => {
    const { orgId, serviceId } = c.req.valid("param");
    const org = await scopeOrganization(c, orgId, READERS);
    const db = c.get("db");
    const service = await store.findService(db, org.id, serviceId);
    if (!service) throw notFound("Service");
    await commitAudited(
      c,
      org.id,
      { action: "delete", resourceType: "service", resourceId: serviceId, previousState: stateOf(service), metadata: { service_id: serviceId } },
      [store.deleteServiceBackups(db, org.id, serviceId).toSQL(), store.deleteService(db, org.id, serviceId).toSQL()],
    );
    return c.body(null, 204);
  },
);

services.openapi(
  createRoute({
    method: "post",
    path: "/{orgId}/services/{serviceId}/backups",
    operationId: "recordServiceBackup",
    tags,
    security,
    summary: "Record a completed backup of a service (org_admin, ingest)",
    middleware: [requireRole(...WRITERS), bodyLimit] as const,
    request: { params: ServiceIdParam, body: jsonBody(BackupBody) },
    responses: { 201: json(BackupSchema, "Recorded"), ...errorResponses(401, 403, 404, 413, 415, 422) },
  }),
  async (c) => {
    const { orgId, serviceId } = c.req.valid("param");
    const org = await scopeOrganization(c, orgId, WRITERS);
    const body = c.req.valid("json");
    const db = c.get("db");
    if (!(await store.findService(db, org.id, serviceId))) throw notFound("Service");
    const row: store.ServiceBackup = {
      id: crypto.randomUUID(),
      organizationId: org.id,
      serviceId,
      completedAt: body.completed_at,
      type: body.type,
      encryptionEnabled: body.encryption_enabled,
      encryptionAlgorithm: body.encryption_algorithm,
      recordedAt: isoNow(),
    };
    const backup = toBackup(row);
    await commitAudited(
      c,
      org.id,
      {
        action: "backup",
        // About the service, not the backup: a service's history (GET /api/v1/audit/logs/resource/service/{id}) includes its backups.
        resourceType: "service",
        resourceId: serviceId,
        newState: { completed_at: backup.completed_at, type: backup.type, encryption_enabled: backup.encryption_enabled, encryption_algorithm: backup.encryption_algorithm },
        metadata: { service_id: serviceId, backup_id: row.id },
      },
      [store.insertBackup(db, row).toSQL()],
    );
    return c.json(backup, 201);
  },
);

export default services;
