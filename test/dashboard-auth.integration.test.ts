import { beforeAll, describe, expect, it } from "vitest";
import { api, createTenant, db, PASSWORD, type Tenant } from "./helpers";
import { page, post, signIn } from "./dashboard-helpers";
import { listOrgTokens } from "../src/orgs/store";

let t: Tenant;
beforeAll(async () => {
  t = await createTenant();
});

const loginForm = (headers: Record<string, string>) =>
  api("/login", {
    method: "POST",
    rawBody: new URLSearchParams({ username: t.admin.user.username, password: PASSWORD }).toString(),
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
  });

describe("dashboard sign-in as a real browser sends it", () => {
  it("accepts Chromium's post from our page (Sec-Fetch-Site same-origin, even with Origin: null) and refuses other sites", async () => {
    // What Chromium sent under the old Referrer-Policy: no-referrer.
    const chromium = await loginForm({ "Sec-Fetch-Site": "same-origin", Origin: "null" });
    expect(chromium.status).toBe(303);
    expect(chromium.headers.get("Location")).toBe("/");
    expect(chromium.headers.get("Set-Cookie")).toMatch(/^cp_session=/);

    for (const site of ["cross-site", "same-site"]) {
      const refused = await loginForm({ "Sec-Fetch-Site": site, Origin: "https://chainproof.test" });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain("Cross-site sign-in refused");
      expect(refused.headers.get("Set-Cookie")).toBeNull();
    }
    // A browser without Sec-Fetch-Site: Origin decides, and "null" is not ours.
    expect((await loginForm({ Origin: "null" })).status).toBe(403);
    expect((await loginForm({ Origin: "https://chainproof.test" })).status).toBe(303);
  });

  it("serves pages with Referrer-Policy same-origin, under which the browser sends its real Origin", async () => {
    const res = await api("/login");
    expect(res.status).toBe(200);
    expect(res.headers.get("Referrer-Policy")).toBe("same-origin");
    expect(res.text).toContain('<form method="post" action="/login">');
    expect(res.text.startsWith("<!DOCTYPE html>")).toBe(true);
  });

  it("sends a visitor without a session to the sign-in page, and leaves the API's unknown paths alone", async () => {
    const res = await api("/logs");
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/login");
    const unknown = await api("/api/v1/no-such-route");
    expect(unknown.status).toBe(401);
    const outside = await api("/no-such-page");
    expect(outside.status).toBe(404);
    expect(outside.json.error.code).toBe("not_found");
  });
});

describe("dashboard forms are CSRF-safe", () => {
  it("refuses a form post without the token, with a wrong one, or from another site; the right one works and shows the token once", async () => {
    const s = await signIn(t.admin.user.username);
    const path = `/orgs/${t.org.id}/tokens`;
    const fields = { name: "from a form", role: "ingest" };
    const before = (await listOrgTokens(db(), t.org.id)).length;

    const missing = await post(s, path, fields);
    expect(missing.status).toBe(403);
    expect(missing.text).toContain("Missing or invalid CSRF token");
    const wrong = await post(s, path, { ...fields, _csrf: s.csrf.slice(0, -2) + "xx" });
    expect(wrong.status).toBe(403);
    const crossSite = await post(s, path, { ...fields, _csrf: s.csrf }, { "Sec-Fetch-Site": "cross-site" });
    expect(crossSite.status).toBe(403);
    expect(crossSite.text).toContain("Cross-site form posts are refused");
    expect((await listOrgTokens(db(), t.org.id)).length).toBe(before);

    const created = await post(s, path, { ...fields, _csrf: s.csrf });
    expect(created.status).toBe(201);
    const token = /<code id="new-token">(cp_[^<]+)<\/code>/.exec(created.text)![1]!;
    expect(created.headers.get("Cache-Control")).toBe("no-store");
    expect((await api("/api/v1/audit/actions", { as: { bearer: token } })).status).toBe(200);
    const listed = await page(s, `/orgs/${t.org.id}/users`);
    expect(listed.status).toBe(200);
    expect(listed.text).toContain("from a form");
    expect(listed.text).not.toContain(token);
    expect((await listOrgTokens(db(), t.org.id)).length).toBe(before + 1);
  });

  it("signing out needs the token too; afterwards the cookie opens nothing", async () => {
    const s = await signIn(t.admin.user.username);
    expect((await post(s, "/logout", {})).status).toBe(403);
    expect((await page(s, "/logs")).status).toBe(200);
    const out = await post(s, "/logout", { _csrf: s.csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get("Location")).toBe("/login");
    const after = await page(s, "/logs");
    expect(after.status).toBe(303);
    expect(after.headers.get("Location")).toBe("/login");
  });
});
