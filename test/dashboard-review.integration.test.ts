import { beforeAll, describe, expect, it } from "vitest";
import { appendBatch, chainRows, createTenant, getSuperAdmin, recordBody, type Tenant } from "./helpers";
import { page, post, type Session, signIn } from "./dashboard-helpers";
import { ResultNotice } from "../src/dashboard/integrity-page";
import type { ValidationResult } from "../src/audit/integrity/validate";
import type { Caller } from "../src/http/context";

// Found by reviewing the dashboard from the outside: a user's odd URL is a clear page, never a 500.

let t: Tenant;
let admin: Session;
let root: Session;
let recordId: string;

beforeAll(async () => {
  t = await createTenant();
  const res = await appendBatch(t.ingest.as, [recordBody({ action: "update" })]);
  expect(res.status).toBe(201);
  recordId = res.json.records[0].id;
  [admin, root] = await Promise.all([signIn(t.admin.user.username), getSuperAdmin().then((sa) => signIn(sa.user.username))]);
});

describe("odd organization ids in a URL", () => {
  it("/orgs/{id} with an encoded line break redirects with the id encoded, then is a 404 page", async () => {
    const res = await page(admin, "/orgs/x%0d%0aSet-Cookie:%20a=b");
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/orgs/x%0D%0ASet-Cookie%3A%20a%3Db/compliance");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect((await page(admin, res.headers.get("Location")!)).status).toBe(404);
  });
});

describe("ids in dashboard URLs are read in any case, like the API's", () => {
  it("an uppercase record id, organization id in a path or in organization_id opens the page", async () => {
    const [rec, org] = [recordId.toUpperCase(), t.org.id.toUpperCase()];
    for (const [who, path] of [
      [admin, `/logs/${rec}`],
      [admin, `/orgs/${org}/compliance`],
      [admin, `/orgs/${org}/users`],
      [root, `/logs?organization_id=${org}`],
      [root, `/security?organization_id=${org}`],
    ] as const) {
      const res = await page(who, path);
      expect([path, res.status]).toEqual([path, 200]);
    }
    expect((await page(admin, `/logs/${rec}`)).text).toContain(recordId);
  });
});

describe("the Integrity page", () => {
  it("does not tell an auditor that the Merkle tree heads and proofs the record page shows are not built", async () => {
    const res = await page(root, "/integrity");
    expect(res.status).toBe(200);
    expect(res.text).not.toContain("not built yet");
    expect(res.text).toContain("inclusion proof");
  });
});

describe("Integrity: validate now on a chain longer than one walk", () => {
  it("continues from start_id, as the API pages, instead of walking the same rows from genesis again", async () => {
    const rows = await chainRows(t.org.id);
    const chained = rows.filter((r) => r.seq !== null);
    const from = chained[1]!;
    const res = await post(root, `/integrity/${t.org.id}/validate`, { _csrf: root.csrf, start_id: from.id.toUpperCase() });
    expect(res.status).toBe(200);
    // Every chained row but the first (the walk's own chain_validate record comes after it).
    expect(Number(/(\d+) rows checked/.exec(res.text)?.[1])).toBe(chained.length - 1);
  });

  it("a walk that stopped early offers to continue from its next_start_id, not to run it again", async () => {
    const result = { organization_id: t.org.id, valid: true, broken_at: null, broken_seq: null, broken_reason: null, checked: 10_000, unchained: 0, last_seq: 10_000, next_start_id: recordId } as unknown as ValidationResult;
    const html = String(ResultNotice({ result, caller: { csrfToken: "tok" } as Caller }));
    expect(html).toContain(`action="/integrity/${t.org.id}/validate"`);
    expect(html).toContain(`name="start_id" value="${recordId}"`);
    expect(html).toContain("Continue from seq 10001");
    expect(html).not.toContain("run it again");
  });
});

describe("the record page's offline check", () => {
  it("asks for no secret: the export's tree head and the public keys; a member, who cannot export, is not sent to the Exports page", async () => {
    const adminPage = (await page(admin, `/logs/${recordId}`)).text;
    expect(adminPage).toContain("npx chainproof verify-chain chainproof-export-&lt;id&gt;.jsonl --checkpoint export.json --jwks jwks.json");
    expect(adminPage).not.toContain("AUDIT_HMAC_KEY");
    const own = await appendBatch(t.ingest.as, [recordBody({ actor_id: t.member.user.id })]);
    expect(own.status).toBe(201);
    const member = await signIn(t.member.user.username);
    const res = await page(member, `/logs/${own.json.records[0].id}`);
    expect(res.status).toBe(200);
    const memberPage = res.text;
    expect(memberPage).toContain("npx chainproof verify-proof proof.json --jwks jwks.json --record record.json");
    expect(memberPage).not.toContain("Exports page");
  });
});

describe("signed-in pages are not kept by the browser", () => {
  it("every page of a session answers Cache-Control: no-store, not only the new token's", async () => {
    for (const path of ["/logs", `/logs/${recordId}`, "/security", "/activity", "/exports", `/orgs/${t.org.id}/compliance`, `/orgs/${t.org.id}/users`]) {
      const res = await page(admin, path);
      expect([path, res.status, res.headers.get("Cache-Control")]).toEqual([path, 200, "no-store"]);
    }
    const missing = await page(admin, `/logs/${crypto.randomUUID()}`);
    expect([missing.status, missing.headers.get("Cache-Control")]).toEqual([404, "no-store"]);
  });
});

describe("a super_admin's export request without an organization", () => {
  it("names what is wrong: the organization, or a bad value above the organization picker", async () => {
    const unnamed = await post(root, "/exports", { _csrf: root.csrf, format: "jsonl" });
    expect(unnamed.status).toBe(422);
    expect(unnamed.text).toContain("a super_admin must name the organization");
    const badFormat = await post(root, "/exports", { _csrf: root.csrf, format: "xml" });
    expect(badFormat.status).toBe(422);
    expect(badFormat.text).toContain("<strong>format</strong>");
    expect(badFormat.text).toContain("Choose the organization to show.");
  });
});
