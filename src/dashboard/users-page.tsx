import type { Context } from "hono";
import type { FC } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { scopeOrganization } from "../auth/tenancy";
import type { AppEnv, Caller } from "../http/context";
import { AppError, type FieldError } from "../http/errors";
import { CreateTokenBody, CreateUserBody, UpdateUserBody } from "../orgs/schemas";
import { listOrgTokens, listOrgUsers, type ApiToken, type User } from "../orgs/store";
import { createOrgToken, revokeOrgToken } from "../orgs/token-actions";
import { changeUserRole, createOrgUser, deleteOrgUser } from "../orgs/user-actions";
import { FieldErrors } from "./components";
import { formBody, parseWith } from "./form-input";
import { CsrfField } from "./layout";
import { OrgTabs } from "./org-tabs";
import { urlId } from "./page-org";

const ADMINS = ["org_admin", "super_admin"] as const;
type Outcome = { errors?: FieldError[]; newToken?: { name: string; token: string }; status?: ContentfulStatusCode };

const UsersTable: FC<{ users: User[]; caller: Caller; orgId: string }> = ({ users, caller, orgId }) => (
  <div class="scroll">
    <table>
      <caption>Users</caption>
      <thead>
        <tr><th scope="col">Username</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Actions</th></tr>
      </thead>
      <tbody>
        {users.map((u) => (
          <tr>
            <th scope="row">{u.username}</th>
            <td>{u.role}</td>
            <td>{u.createdAt}</td>
            <td>
              {u.id === caller.actorId ? "(you)" : (
                <>
                  <form class="inline" method="post" action={`/orgs/${orgId}/users/${u.id}/role`}>
                    <CsrfField caller={caller} />
                    <label class="inline">
                      <span class="skip">Role of {u.username}</span>
                      <select name="role">
                        {["member", "org_admin"].map((r) => <option value={r} selected={u.role === r}>{r}</option>)}
                      </select>
                    </label>{" "}
                    <button type="submit" class="secondary">Change role</button>
                  </form>{" "}
                  <form class="inline" method="post" action={`/orgs/${orgId}/users/${u.id}/delete`}>
                    <CsrfField caller={caller} />
                    <button type="submit" class="secondary" aria-label={`Delete ${u.username}`}>Delete</button>
                  </form>
                </>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

const TokensTable: FC<{ tokens: ApiToken[]; caller: Caller; orgId: string }> = ({ tokens, caller, orgId }) => (
  <div class="scroll">
    <table>
      <caption>API tokens</caption>
      <thead>
        <tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th></tr>
      </thead>
      <tbody>
        {tokens.map((t) => (
          <tr>
            <th scope="row">{t.name}</th>
            <td>{t.role}</td>
            <td>{t.createdAt}</td>
            <td>{t.lastUsedAt ?? "never"}</td>
            <td>
              {t.revokedAt ? `revoked ${t.revokedAt}` : (
                <form class="inline" method="post" action={`/orgs/${orgId}/tokens/${t.id}/revoke`}>
                  <CsrfField caller={caller} />
                  <button type="submit" class="secondary" aria-label={`Revoke ${t.name}`}>Revoke</button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

const CreateForms: FC<{ caller: Caller; orgId: string }> = ({ caller, orgId }) => (
  <>
    <h2>Add a user</h2>
    <form class="filters" method="post" action={`/orgs/${orgId}/users`}>
      <CsrfField caller={caller} />
      <label>Username <input name="username" required minlength={3} maxlength={64} autocomplete="off" /></label>
      <label>Password <input name="password" type="password" required minlength={10} autocomplete="new-password" /></label>
      <label>Role <select name="role"><option value="member">member</option><option value="org_admin">org_admin</option></select></label>
      <button type="submit">Add user</button>
    </form>
    <h2>Create an API token</h2>
    <form class="filters" method="post" action={`/orgs/${orgId}/tokens`}>
      <CsrfField caller={caller} />
      <label>Name <input name="name" required maxlength={100} /></label>
      <label>Role <select name="role"><option value="ingest">ingest</option><option value="org_admin">org_admin</option></select></label>
      <button type="submit">Create token</button>
    </form>
  </>
);

/** `/orgs/:orgId/users`: users and API tokens; a new token's secret appears in this answer only. */
export async function usersPage(c: Context<AppEnv>, outcome: Outcome = {}) {
  const caller = c.get("caller");
  const org = await scopeOrganization(c, urlId(c.req.param("orgId")), ADMINS);
  const db = c.get("db");
  const [users, tokens] = await Promise.all([listOrgUsers(db, org.id), listOrgTokens(db, org.id)]);
  c.status(outcome.status ?? 200);
  return c.render(
    <>
      <h1>{org.name}</h1>
      <OrgTabs caller={caller} orgId={org.id} current="users" />
      <FieldErrors errors={outcome.errors ?? []} />
      {outcome.newToken && (
        <div class="notice" role="status">
          <p>
            Token <strong>{outcome.newToken.name}</strong> created. Copy it now: it is shown this once and cannot be shown again.
          </p>
          <p><code id="new-token">{outcome.newToken.token}</code></p>
        </div>
      )}
      <UsersTable users={users} caller={caller} orgId={org.id} />
      <TokensTable tokens={tokens} caller={caller} orgId={org.id} />
      <CreateForms caller={caller} orgId={org.id} />
    </>,
    { title: `Users and tokens · ${org.name}`, caller, orgId: caller.role === "super_admin" ? org.id : undefined, current: "org" },
  );
}

/** Runs a change; a refusal (taken username, own role, …) is shown on the page with its status. */
async function changing(c: Context<AppEnv>, change: () => Promise<Outcome | void>) {
  try {
    const outcome = await change();
    if (outcome) return usersPage(c, outcome);
  } catch (err) {
    if (!(err instanceof AppError) || err.status === 404 || err.status === 403) throw err;
    const details = Array.isArray(err.details) ? (err.details as FieldError[]) : [{ field: "request", message: err.message }];
    return usersPage(c, { errors: details, status: err.status });
  }
  return c.redirect(`/orgs/${urlId(c.req.param("orgId"))}/users`, 303);
}

const invalidForm = (errors: FieldError[]): Outcome => ({ errors, status: 422 });

export const createUser = (c: Context<AppEnv>) =>
  changing(c, async () => {
    const form = parseWith(CreateUserBody, await formBody(c));
    if (!form.ok) return invalidForm(form.errors);
    await createOrgUser(c, urlId(c.req.param("orgId")), form.value);
  });

export const changeRole = (c: Context<AppEnv>) =>
  changing(c, async () => {
    const form = parseWith(UpdateUserBody, await formBody(c));
    if (!form.ok) return invalidForm(form.errors);
    await changeUserRole(c, urlId(c.req.param("orgId")), urlId(c.req.param("userId")), form.value.role);
  });

export const deleteUser = (c: Context<AppEnv>) => changing(c, () => deleteOrgUser(c, urlId(c.req.param("orgId")), urlId(c.req.param("userId"))));

export const createToken = (c: Context<AppEnv>) =>
  changing(c, async () => {
    const form = parseWith(CreateTokenBody, await formBody(c));
    if (!form.ok) return invalidForm(form.errors);
    const { row, token } = await createOrgToken(c, urlId(c.req.param("orgId")), form.value);
    return { newToken: { name: row.name, token }, status: 201 };
  });

export const revokeToken = (c: Context<AppEnv>) => changing(c, () => revokeOrgToken(c, urlId(c.req.param("orgId")), urlId(c.req.param("tokenId"))));
