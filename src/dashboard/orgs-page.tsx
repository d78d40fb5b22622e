import type { Context } from "hono";
import type { AppEnv } from "../http/context";
import { listOrganizations } from "../orgs/store";
import { orgTier } from "../orgs/tier";

/** `/orgs` (super_admin): every organization, each opening its organization page. */
export async function orgsPage(c: Context<AppEnv>) {
  const orgs = await listOrganizations(c.get("db"));
  return c.render(
    <>
      <h1>Organizations</h1>
      <div class="scroll">
        <table>
          <thead>
            <tr><th scope="col">Name</th><th scope="col">Tier</th><th scope="col">Created</th><th scope="col">Id</th></tr>
          </thead>
          <tbody>
            {orgs.map((o) => (
              <tr>
                <th scope="row"><a href={`/orgs/${o.id}/compliance`}>{o.name}</a></th>
                <td>{orgTier(o.settings)}</td>
                <td>{o.createdAt}</td>
                <td><code>{o.id}</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>,
    { title: "Organizations", caller: c.get("caller"), current: "orgs" },
  );
}

/** Where `/` leads: the first page the role may open. */
export const homeOf = (role: string) => (role === "super_admin" ? "/orgs" : "/logs");
