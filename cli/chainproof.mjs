#!/usr/bin/env node
// The offline verifier. It runs the project's own TypeScript (src/) through tsx, so the bytes it
// checks are defined in one place for the Worker and for the auditor.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
