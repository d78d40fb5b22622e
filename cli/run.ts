// The verifier's entry point, shared by the in-repo bin (through tsx) and the standalone bundle.
import { main } from "./main";

process.exitCode = await main(process.argv.slice(2));
