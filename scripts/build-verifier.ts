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

// The file is meant to be read by the auditor who runs it: only the verification code and the one
// library it needs (RFC 8785 canonical JSON). A service module that strays into the CLI's imports
// (the D1 tables, the API schema, the HTTP framework) would otherwise multiply the bundle silently.
const VERIFIER_PACKAGES = new Set(["canonicalize"]);
const strays = Object.keys(result.metafile.inputs).filter((path) => {
  const inPackage = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  return inPackage ? !VERIFIER_PACKAGES.has(inPackage[1]!) : path.startsWith("src/db/");
});
if (strays.length > 0) {
  const packages = [...new Set(strays.map((path) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? path))];
  console.error(`build:verifier: the bundle may carry only ${[...VERIFIER_PACKAGES].join(", ")} from npm and nothing of src/db/, but it carries ${packages.join(", ")}`);
  process.exit(1);
}
