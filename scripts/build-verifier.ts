// npm run build:verifier: bundles the offline verifier (cli/run.ts and everything it imports from
// src/ and from npm) into verifier/chainproof.mjs, one file that needs nothing but Node >= 20, so an
// auditor installs the packed tarball without cloning the service or fetching any dependency.
import { isBuiltin } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

const result = await build({
  absWorkingDir: root,
  entryPoints: ["cli/run.ts"],
  outfile: "verifier/chainproof.mjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  tsconfig: "tsconfig.json",
  banner: { js: "#!/usr/bin/env node" },
  // Left readable: an auditor may want to read the code that vouches for their evidence.
  minify: false,
  metafile: true,
  logLevel: "warning",
});

// esbuild leaves Node's builtins external and would leave a CommonJS require() of one as a call
// that throws in an ES module at run time; refuse any import that Node cannot satisfy by itself.
const foreign = Object.values(result.metafile.outputs)
  .flatMap((output) => output.imports)
  .filter((imported) => !isBuiltin(imported.path) || imported.kind !== "import-statement");
if (foreign.length > 0) {
  console.error(`build:verifier: the bundle must import only Node builtins, but it imports ${foreign.map((i) => `${i.path} (${i.kind})`).join(", ")}`);
  process.exit(1);
}
