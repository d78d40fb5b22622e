#!/usr/bin/env node
// The offline verifier as developers run it from a clone: the project's own TypeScript (src/)
// through tsx, so an edit is live without a build. Auditors get the same code bundled
// (npm run build:verifier, see verifier/).
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
await import("./run.ts");
