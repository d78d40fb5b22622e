import { buildApp } from "./app";
import type { Env } from "./env";

export { OrgChain } from "./audit/org-chain";

const app = buildApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
