import { buildApp } from "./app";
import type { Env } from "./env";
import { runScheduled } from "./ops/scheduled";

export { ExportRunner } from "./audit/export/runner";
export { OrgChain } from "./audit/chain/org-chain";

const app = buildApp();

export default {
  fetch: app.fetch,
  scheduled: runScheduled,
} satisfies ExportedHandler<Env>;
