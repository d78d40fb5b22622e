// npm run admin -- create-super-admin <username> <password> [--remote]
import { parseArgs } from "node:util";
import { createSuperAdmin } from "./bootstrap";

const usage = "usage: npm run admin -- create-super-admin <username> <password> [--remote]";
let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { remote: { type: "boolean", default: false } } });
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const [command, username, password] = parsed.positionals;
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
