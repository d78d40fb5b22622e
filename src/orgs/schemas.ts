import { z } from "@hono/zod-openapi";
import { passwordField } from "../auth/password-field";
import { TIERS } from "../db/schema";
import { ijson, shallow } from "../http/json-input";
import type { ApiToken, Organization, User } from "./store";
import { orgTier } from "./tier";

export const OrgIdParam = z.object({ orgId: z.uuid().toLowerCase().openapi({ param: { name: "orgId", in: "path" } }) });
export const UserIdParam = OrgIdParam.extend({ userId: z.uuid().toLowerCase().openapi({ param: { name: "userId", in: "path" } }) });
export const TokenIdParam = OrgIdParam.extend({ tokenId: z.uuid().toLowerCase().openapi({ param: { name: "tokenId", in: "path" } }) });

const name = z.string().trim().min(1).max(200);
const settings = shallow(z.object({ tier: z.enum(TIERS).optional() }).catchall(z.unknown())).openapi({ description: "Free-form settings; `tier` is one of the retention tiers" });

export const CreateOrganizationBody = ijson(z.object({ name, settings: settings.optional() }).strict()).openapi("CreateOrganization");
export const UpdateOrganizationBody = ijson(z.object({ name: name.optional(), settings: settings.optional() }).strict()).openapi("UpdateOrganization");

export const OrganizationSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    settings: z.record(z.string(), z.unknown()),
    tier: z.enum(TIERS),
    created_at: z.string(),
  })
  .openapi("Organization");

export const toOrganization = (org: Organization): z.infer<typeof OrganizationSchema> => ({
  id: org.id,
  name: org.name,
  settings: org.settings,
  tier: orgTier(org.settings),
  created_at: org.createdAt,
});

export const CreateUserBody = ijson(
  z.object({
    username: z
      .string()
      .min(3)
      .max(64)
      .regex(/^[A-Za-z0-9._@-]+$/, "letters, digits and . _ @ - only"),
    password: passwordField,
    role: z.enum(["member", "org_admin"]),
  }).strict(),
).openapi("CreateUser");
export const UpdateUserBody = z.object({ role: z.enum(["member", "org_admin"]) }).strict().openapi("UpdateUser");

export const UserSchema = z
  .object({ id: z.string(), organization_id: z.string().nullable(), username: z.string(), role: z.string(), created_at: z.string() })
  .openapi("User");

export const toUser = (user: User): z.infer<typeof UserSchema> => ({
  id: user.id,
  organization_id: user.organizationId,
  username: user.username,
  role: user.role,
  created_at: user.createdAt,
});

export const CreateTokenBody = ijson(
  z.object({ name: z.string().trim().min(1).max(100), role: z.enum(["ingest", "org_admin"]) }).strict(),
).openapi("CreateToken");

export const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.string(),
    created_at: z.string(),
    created_by: z.string().nullable(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi("ApiToken");

export const CreatedTokenSchema = z
  .object({ id: z.string(), name: z.string(), role: z.string(), created_at: z.string(), token: z.string() })
  .openapi("CreatedApiToken", { description: "`token` is shown in this answer only" });

export const toToken = (token: ApiToken): z.infer<typeof TokenSchema> => ({
  id: token.id,
  name: token.name,
  role: token.role,
  created_at: token.createdAt,
  created_by: token.createdBy,
  last_used_at: token.lastUsedAt,
  revoked_at: token.revokedAt,
});

export const listOf = <T extends z.ZodType>(item: T, name: string) => z.object({ items: z.array(item) }).openapi(name);
