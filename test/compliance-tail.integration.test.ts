import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import type { Env } from "../src/env";
import { api, appendBatch, createTenant, getSuperAdmin, recordBody, type Tenant } from "./helpers";
import { getReport } from "./compliance-helpers";

// The report says whether signed checkpoints protect the chain's tail, and a deployment without a
// usable CHECKPOINT_SIGNING_KEY says so in its log instead of degrading silently.

let t: Tenant;

/** The same Worker, run with other secrets: `api()` always uses the test configuration. */
async function fetchWith(secrets: Partial<Env>, path: string, as: { basic: string }, body?: string) {
  const ctx = createExecutionContext();
  const headers = { Authorization: `Basic ${as.basic}`, "Content-Type": "application/json" };
  const req = new Request(`https://chainproof.test${path}`, { method: body === undefined ? "GET" : "POST", headers, body });
  const res = await worker.fetch(req as Request<unknown, IncomingRequestCfProperties>, { ...env, ...secrets } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  t = await createTenant();
  await appendBatch(t.ingest.as, [recordBody()]);
});

describe("audit_log.tail_protected", () => {
  it("is true under a usable CHECKPOINT_SIGNING_KEY, right after the three required members", async () => {
    const { report } = (await getReport(t.member.as, t.org.id)).json;
    expect(Object.keys(report.audit_log).slice(0, 4)).toEqual(["retention_policy", "oldest_entry_at", "entry_count", "tail_protected"]);
    expect(report.audit_log.tail_protected).toBe(true);
  });

  it("is false without the key, or with an unusable one; such a report is unattested and verifies only where no key is set", async () => {
    const as = t.member.as as { basic: string };
    for (const CHECKPOINT_SIGNING_KEY of [undefined, "", '{"kty":"OKP","crv":"Ed25519"}']) {
      const res = await fetchWith({ CHECKPOINT_SIGNING_KEY }, `/api/v1/organizations/${t.org.id}/compliance-report`, as);
      expect(res.status).toBe(200);
      const file = JSON.parse(res.text);
      expect(file.report.audit_log.tail_protected).toBe(false);
      expect(Object.keys(file)).toEqual(["report", "signature"]);

      const here = await fetchWith({ CHECKPOINT_SIGNING_KEY }, "/api/v1/compliance/verify", as, res.text);
      expect(JSON.parse(here.text)).toEqual({ valid: true, hmac_valid: true, attestation_valid: null, organization_id: t.org.id, reason: null });
      const attested = await api("/api/v1/compliance/verify", { method: "POST", as, rawBody: res.text, headers: { "Content-Type": "application/json" } });
      expect(attested.json).toMatchObject({ valid: false, hmac_valid: true, attestation_valid: null });
    }
  });

  it("validation says the same: tail_protected is false without a usable key, per organization and across them", async () => {
    const sa = (await getSuperAdmin()).as as { basic: string };
    for (const [CHECKPOINT_SIGNING_KEY, expected] of [[undefined, false], ["", false], ['{"kty":"OKP","crv":"Ed25519"}', false], [env.CHECKPOINT_SIGNING_KEY, true]] as const) {
      const one = await fetchWith({ CHECKPOINT_SIGNING_KEY }, `/api/v1/audit/validate?organization_id=${t.org.id}`, sa);
      expect(one.status).toBe(200);
      expect(JSON.parse(one.text)).toMatchObject({ valid: true, tail_protected: expected });
    }
  });

  it("a missing or unusable key is logged as an error once per isolate", async () => {
    vi.resetModules();
    const { availableCheckpointSigner } = await import("../src/audit/chain/checkpoints");
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await availableCheckpointSigner({ ...env, CHECKPOINT_SIGNING_KEY: undefined } as Env)).toBeNull();
      expect(await availableCheckpointSigner({ ...env, CHECKPOINT_SIGNING_KEY: "not a key" } as Env)).toBeNull();
      expect(await availableCheckpointSigner({ ...env, CHECKPOINT_SIGNING_KEY: undefined } as Env)).toBeNull();
      expect(logged.mock.calls).toEqual([
        ["CHECKPOINT_SIGNING_KEY is not set: no signed checkpoints or report attestations, so chain tails are not protected"],
      ]);
      expect(await availableCheckpointSigner(env as Env)).not.toBeNull();
    } finally {
      logged.mockRestore();
    }
  });
});
