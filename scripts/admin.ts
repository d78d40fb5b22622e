// npm run admin -- create-super-admin <username> <password> [--remote]
// npm run admin -- generate-checkpoint-key      (prints a fresh Ed25519 private JWK for CHECKPOINT_SIGNING_KEY)
import { parseArgs } from "node:util";
import { generateEd25519PrivateJwk } from "../src/crypto/ed25519";
import { createSuperAdmin } from "./bootstrap";

const usage = [
  "usage: npm run admin -- create-super-admin <username> <password> [--remote]",
  "       npm run admin -- generate-checkpoint-key",
].join("\n");

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { remote: { type: "boolean", default: false } } });
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const [command, username, password] = parsed.positionals;
if (command === "generate-checkpoint-key") {
  // Printed for `wrangler secret put CHECKPOINT_SIGNING_KEY`; nothing is stored.
  console.log(JSON.stringify(await generateEd25519PrivateJwk()));
  process.exit(0);
}
if (command !== "create-super-admin" || !username || !password) {
  console.error(usage);
  process.exit(2);
}
try {
  const id = await createSuperAdmin(username, password, parsed.values.remote);
  console.log(`super_admin ${username} created (id ${id}) in the ${parsed.values.remote ? "deployed" : "local"} database`);
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}
