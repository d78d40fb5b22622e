// npm run admin -- create-super-admin <username> <password> [--remote]
// npm run admin -- unlock <username> [--remote]
// npm run admin -- reset-password <username> [<new password>] [--remote]   (a random one is printed when omitted)
// npm run admin -- generate-checkpoint-key      (prints a fresh Ed25519 private JWK for CHECKPOINT_SIGNING_KEY)
// --persist-to <dir> points a local run at another state directory than .wrangler/state.
import { parseArgs } from "node:util";
import { generateEd25519PrivateJwk } from "../src/crypto/ed25519";
import { createSuperAdmin } from "./bootstrap";
import { resetPassword, unlock } from "./accounts";

const usage = [
  "usage: npm run admin -- create-super-admin <username> <password> [--remote]",
  "       npm run admin -- unlock <username> [--remote]",
  "       npm run admin -- reset-password <username> [<new password>] [--remote]",
  "       npm run admin -- generate-checkpoint-key",
].join("\n");

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { remote: { type: "boolean", default: false }, "persist-to": { type: "string" } },
  });
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const [command, username, password] = parsed.positionals;
const target = { remote: parsed.values.remote, persistTo: parsed.values["persist-to"] };
const where = target.remote ? "deployed" : "local";
if (command === "generate-checkpoint-key") {
  // Printed for `wrangler secret put CHECKPOINT_SIGNING_KEY`; nothing is stored.
  console.log(JSON.stringify(await generateEd25519PrivateJwk()));
  process.exit(0);
}
const known = command === "unlock" || command === "reset-password" || (command === "create-super-admin" && password);
if (!known || !username) {
  console.error(usage);
  process.exit(2);
}
try {
  if (command === "create-super-admin") {
    const id = await createSuperAdmin(username, password!, target.remote, target.persistTo);
    console.log(`super_admin ${username} created (id ${id}) in the ${where} database`);
  } else if (command === "unlock") {
    unlock(username, target);
    console.log(`${username} unlocked in the ${where} database`);
  } else {
    const chosen = await resetPassword(username, password, target);
    console.log(`password of ${username} reset in the ${where} database; every session of it ended`);
    if (!password) console.log(`new password: ${chosen}`);
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
}
