import { beforeAll, describe, expect, it } from "vitest";
import { api, appendBatch, chainRows, createTenant, getSuperAdmin, recordBody, type Tenant } from "./helpers";
import { page, post, type Session, signIn } from "./dashboard-helpers";
import { canonicalRow } from "../src/audit/chain/record";
import { fromHex } from "../src/crypto/encoding";
import { leafHashOfCanonical } from "../src/crypto/merkle/hash";
import { verifyInclusion } from "../src/crypto/merkle/verify";
import { checkedTreeHead } from "./tree-helpers";

let t: Tenant;
let foreign: Tenant;
let admin: Session;
let member: Session;
let root: Session;
let recordId: string;
let memberRecordId: string;

beforeAll(async () => {
  [t, foreign] = await Promise.all([createTenant(), createTenant()]);
  const records = [
    recordBody({ action: "update", status: "success", metadata: { ticket: "OPS-7" } }),
    recordBody({ action: "delete", status: "failure", previous_state: { plan: "pro", seats: 5 }, new_state: { plan: "free", seats: 5 } }),
    recordBody({ action: "create", actor_id: t.member.user.id, resource_type: "backup" }),
  ];
  const res = await appendBatch(t.ingest.as, records);
  expect(res.status).toBe(201);
  recordId = res.json.records[1].id;
  memberRecordId = res.json.records[2].id;
  expect((await appendBatch(foreign.ingest.as, [recordBody()])).status).toBe(201);
  [admin, member, root] = await Promise.all([signIn(t.admin.user.username), signIn(t.member.user.username), getSuperAdmin().then((sa) => signIn(sa.user.username))]);
});

/** The chain's self-audit records of the organization with this action, newest last. */
const selfAudits = async (orgId: string, action: string) => (await chainRows(orgId)).filter((r) => r.action === action);

describe("what each role sees", () => {
  it("org_admin: its log with filters, security, activity, exports, users; no integrity", async () => {
    const logs = await page(admin, "/logs?status=failure&action=");
    expect(logs.status).toBe(200);
    expect(logs.text).toContain(`href="/logs/${recordId}"`);
    expect(logs.text.match(/href="\/logs\/[0-9a-f-]{36}"/g)?.length).toBe(1);
    for (const link of ['href="/security"', 'href="/activity"', 'href="/exports"', `href="/orgs/${t.org.id}/compliance"`]) expect(logs.text).toContain(link);
    expect(logs.text).not.toContain('href="/integrity"');
    for (const path of ["/security", "/activity", "/exports", `/orgs/${t.org.id}/users`, `/orgs/${t.org.id}/compliance`]) {
      expect((await page(admin, path)).status, path).toBe(200);
    }
    expect((await page(admin, "/integrity")).status).toBe(403);
    expect((await page(admin, "/orgs")).status).toBe(403);
  });

  it("member: only its own history and its organization's compliance report", async () => {
    // Its own records before this view (the view itself is audited in its name).
    const own = (await chainRows(t.org.id)).filter((r) => r.actor_id === t.member.user.id);
    expect(own.length).toBeGreaterThan(0);
    const logs = await page(member, "/logs");
    expect(logs.status).toBe(200);
    expect(logs.text).toContain("My history");
    const shown = logs.text.match(/href="\/logs\/[0-9a-f-]{36}"/g) ?? [];
    expect(shown.length).toBe(own.length);
    expect(logs.text).not.toContain('href="/security"');
    expect(logs.text).not.toContain("/logs/export");
    expect((await page(member, `/logs/${recordId}`)).status).toBe(403);
    for (const path of ["/security", "/activity", "/exports", `/orgs/${t.org.id}/users`]) expect((await page(member, path)).status, path).toBe(403);
    expect((await page(member, `/orgs/${t.org.id}/compliance`)).status).toBe(200);
    expect((await post(member, "/logs/export", { format: "csv", _csrf: member.csrf })).status).toBe(403);
  });

  it("super_admin: every organization, integrity with validate now (audited as chain_validate)", async () => {
    const picker = await page(root, "/logs");
    expect(picker.status).toBe(200);
    expect(picker.text).toContain(`/logs?organization_id=${t.org.id}`);
    const logs = await page(root, `/logs?organization_id=${foreign.org.id}`);
    expect(logs.status).toBe(200);
    expect(logs.text.match(/href="\/logs\/[0-9a-f-]{36}"/g)?.length).toBe(1);
    const integrity = await page(root, "/integrity");
    expect(integrity.status).toBe(200);
    expect(integrity.text).toContain(t.org.name);
    expect(integrity.text).toContain("signs a tree head");
    const before = (await selfAudits(t.org.id, "chain_validate")).length;
    const run = await post(root, `/integrity/${t.org.id}/validate`, { _csrf: root.csrf });
    expect(run.status).toBe(200);
    expect(run.text).toContain("Chain valid");
    expect((await selfAudits(t.org.id, "chain_validate")).length).toBe(before + 1);
  });
});

describe("tenant isolation", () => {
  it("another organization's pages and records are 404 for an org_admin and a member", async () => {
    const foreignRecord = (await chainRows(foreign.org.id))[0]!.id;
    for (const s of [admin, member]) {
      expect((await page(s, `/orgs/${foreign.org.id}/compliance`)).status).toBe(404);
      expect((await page(s, `/logs/${foreignRecord}`)).status).toBe(404);
      expect((await page(s, `/logs?organization_id=${foreign.org.id}`)).status).toBe(404);
    }
    const users = await page(admin, `/orgs/${foreign.org.id}/users`);
    expect(users.status).toBe(404);
    expect(users.text).toContain("Organization not found");
    expect((await post(admin, `/orgs/${foreign.org.id}/tokens`, { name: "x", role: "ingest", _csrf: admin.csrf })).status).toBe(404);
  });
});

describe("viewing and exporting are audited", () => {
  it("a log view, a record view and an export each leave a self-audit record naming the viewer", async () => {
    const reads = (await selfAudits(t.org.id, "read")).length;
    expect((await page(admin, "/logs?action=delete")).status).toBe(200);
    const detail = await page(admin, `/logs/${recordId}`);
    expect(detail.status).toBe(200);
    expect(detail.text).toContain("<del>&quot;pro&quot;</del>");
    expect(detail.text).toContain("Seal valid");
    expect(detail.text).toContain("npx chainproof verify-chain");
    const after = await selfAudits(t.org.id, "read");
    expect(after.length).toBe(reads + 2);
    const [listView, recordView] = after.slice(-2);
    expect(listView!.actor_id).toBe(t.admin.user.id);
    expect(JSON.parse(listView!.metadata)).toMatchObject({ view: "logs", filters: { action: "delete", page: 1 }, via: "session" });
    expect(recordView!.resource_id).toBe(recordId);

    const exportsBefore = (await selfAudits(t.org.id, "export")).length;
    const csv = await post(admin, "/logs/export", { format: "csv", actions: "delete", organization_id: t.org.id, _csrf: admin.csrf });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("X-Result-Total")).toBe("1");
    expect(csv.text.trim().split("\n").length).toBe(2);
    expect(csv.text).toContain(recordId);
    const exported = await selfAudits(t.org.id, "export");
    expect(exported.length).toBe(exportsBefore + 1);
    expect(JSON.parse(exported.at(-1)!.metadata)).toMatchObject({ format: "csv", filters: { actions: ["delete"] }, total: 1, capped: true });

    const bad = await post(admin, "/logs/export", { format: "xml", _csrf: admin.csrf });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain("format");
    expect((await selfAudits(t.org.id, "export")).length).toBe(exportsBefore + 1);
  });

  it("the record page shows how to verify the record with the public key alone: leaf hash, inclusion proof, signed tree head, command", async () => {
    const detail = await page(member, `/logs/${memberRecordId}`);
    expect(detail.status).toBe(200);
    expect(detail.text).toContain("<h2>Verify this record</h2>");
    const record = (await api(`/api/v1/audit/logs/${memberRecordId}`, { as: t.admin.as })).json;
    const leafHash = await leafHashOfCanonical(canonicalRow(record));
    expect(detail.text).toContain(`<dt>Leaf hash</dt><dd><code>${Buffer.from(leafHash).toString("hex")}</code></dd>`);
    const note = /<h3>Signed tree head<\/h3><pre>([^<]*)<\/pre>/.exec(detail.text)![1]!;
    const head = await checkedTreeHead(note);
    expect(head.organizationId).toBe(t.org.id);
    const shown = [...detail.text.matchAll(/<li><code>([0-9a-f]{64})<\/code><\/li>/g)].map((m) => m[1]!);
    expect(shown.length).toBeGreaterThan(0);
    expect(await verifyInclusion(record.seq - 1, head.size, leafHash, shown.map(fromHex), head.root)).toBe(true);
    expect(detail.text).toContain("npx chainproof verify-proof proof.json --jwks jwks.json --record record.json");
    // The download is the API's proof of the very tree head shown, with the member's own session.
    const link = `/api/v1/audit/logs/${memberRecordId}/proof?tree_size=${head.size}`;
    expect(detail.text).toContain(`href="${link}" download="proof.json"`);
    const proof = await page(member, link);
    expect(proof.status).toBe(200);
    expect(proof.json).toEqual({ organization_id: t.org.id, leaf_index: record.seq - 1, tree_size: head.size, leaf_hash: Buffer.from(leafHash).toString("hex"), inclusion: shown, checkpoint: note });
  });

  it("the Compliance tab audits the report it shows, and its download is the API route's signed file", async () => {
    const generated = (await selfAudits(t.org.id, "report_generate")).length;
    const tab = await page(member, `/orgs/${t.org.id}/compliance`);
    expect(tab.text).toContain(`href="/organizations/${t.org.id}/compliance-report"`);
    expect(tab.text).toMatch(/<dt>Pruned into archives<\/dt>\s*<dd>none<\/dd>/);
    expect((await selfAudits(t.org.id, "report_generate")).length).toBe(generated + 1);
    const file = await page(member, `/organizations/${t.org.id}/compliance-report`);
    expect(file.status).toBe(200);
    const verdict = await api("/api/v1/compliance/verify", { method: "POST", rawBody: file.text, as: t.admin.as, headers: { "Content-Type": "application/json" } });
    expect(verdict.json).toMatchObject({ valid: true, hmac_valid: true, organization_id: t.org.id });
  });

  it("bad filters are a 422 page naming the field, and change nothing", async () => {
    const reads = (await selfAudits(t.org.id, "read")).length;
    const res = await page(admin, "/logs?status=maybe");
    expect(res.status).toBe(422);
    expect(res.text).toContain("<strong>status</strong>");
    expect((await page(admin, "/security?severity=extreme")).status).toBe(422);
    // A day the calendar lacks is no date, whichever page takes it.
    for (const path of ["/logs?start_date=2026-02-30", "/activity?end_date=2026-04-31", "/security?start_date=2026-02-29"]) {
      const impossible = await page(admin, path);
      expect([path, impossible.status, impossible.text.includes(`<strong>${/\?(\w+)=/.exec(path)![1]}</strong>`)]).toEqual([path, 422, true]);
    }
    expect((await selfAudits(t.org.id, "read")).length).toBe(reads);
  });
});
