import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { linkSignature, MAX_LINK_SECONDS } from "../src/audit/export/download-links";
import { api, appendBatch, createTenant, recordBody, runExportToEnd } from "./helpers";

// CRYPTO.md §6: a link lives at most 7 days; an expired or altered link is a 403.

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** The `sig` of a link, made with the test deployment's own SECRET_KEY: a link only chainproof could sign. */
const sigOf = (id: string, expires: number) => linkSignature(env.SECRET_KEY, id, expires);

/** Fetches a link's download and answers its status and error code. */
async function download(path: string, query: string) {
  const res = await exports.default.fetch(new Request(`https://chainproof.test${path}/download?${query}`));
  const body = res.headers.get("Content-Type")?.startsWith("application/json") ? ((await res.json()) as { error?: { code: string } }) : undefined;
  return [res.status, body?.error?.code];
}

let exportPath: string;
let exportId: string;

beforeAll(async () => {
  const tenant = await createTenant();
  expect((await appendBatch(tenant.ingest.as, [recordBody(), recordBody()])).status).toBe(201);
  const started = await api("/api/v1/audit/exports", { method: "POST", as: tenant.admin.as, body: {} });
  expect(started.status).toBe(202);
  exportId = started.json.id;
  expect((await runExportToEnd(exportId, tenant.admin.as)).json.status).toBe("complete");
  exportPath = `/api/v1/audit/exports/${exportId}`;
});

// The archive and evidence downloads are served outside the validated routes; with an unknown id a link
// that checks out reaches the lookup (404), one that does not stops at the link (403).
const rawRoutes = () => [`/api/v1/audit/archives/${crypto.randomUUID()}`, `/api/v1/audit/validation-runs/${crypto.randomUUID()}`];
const idOf = (path: string) => path.split("/").at(-1)!;

describe("download links", () => {
  it("a signed link that has not expired serves the file, up to 7 days ahead", async () => {
    for (const expires of [nowSeconds() + 60, nowSeconds() + MAX_LINK_SECONDS - 60]) {
      expect(await download(exportPath, `expires=${expires}&sig=${await sigOf(exportId, expires)}`)).toEqual([200, undefined]);
    }
    for (const path of rawRoutes()) {
      const expires = nowSeconds() + 60;
      expect(await download(path, `expires=${expires}&sig=${await sigOf(idOf(path), expires)}`)).toEqual([404, "not_found"]);
    }
  });

  it("a signed link that expires more than 7 days ahead was never issued: 403", async () => {
    for (const path of [exportPath, ...rawRoutes()]) {
      const expires = nowSeconds() + MAX_LINK_SECONDS + 3600;
      expect([path, ...(await download(path, `expires=${expires}&sig=${await sigOf(idOf(path), expires)}`))]).toEqual([path, 403, "link_invalid"]);
    }
  });

  it("a repeated parameter is an altered link: 403, whichever value comes first", async () => {
    for (const path of [exportPath, ...rawRoutes()]) {
      const id = idOf(path);
      const [past, valid] = [nowSeconds() - 60, nowSeconds() + 3600];
      const [pastSig, validSig] = [await sigOf(id, past), await sigOf(id, valid)];
      for (const query of [
        `expires=${past}&expires=${valid}&sig=${validSig}`,
        `expires=${valid}&expires=${past}&sig=${validSig}`,
        `expires=${valid}&expires=${valid}&sig=${validSig}`,
        `expires=${valid}&sig=${validSig}&sig=${pastSig}`,
        `expires=${valid}&sig=${validSig}&sig=${validSig}`,
      ]) {
        expect([path, query, ...(await download(path, query))]).toEqual([path, query, 403, "link_invalid"]);
      }
    }
  });

  it("an expires written with leading zeros is an altered link: 403 (the signature covers the text as issued)", async () => {
    for (const path of [exportPath, ...rawRoutes()]) {
      const id = idOf(path);
      const expires = nowSeconds() + 3600;
      const sig = await sigOf(id, expires);
      for (const written of [`0${expires}`, `00${expires}`]) {
        const query = `expires=${written}&sig=${sig}`;
        expect([path, query, ...(await download(path, query))]).toEqual([path, query, 403, "link_invalid"]);
      }
    }
  });
});
