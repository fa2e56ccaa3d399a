// Builds dist/: ESM and CommonJS for bundlers and Node.js, a minified browser bundle
// (an ES module, for <script type="module"> and for the size check), and the type
// declarations.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
const common = { entryPoints: ["src/index.ts"], bundle: true, target: "es2020", logLevel: "warning" };
await Promise.all([
  build({ ...common, format: "esm", platform: "neutral", outfile: "dist/index.js" }),
  build({ ...common, format: "cjs", platform: "node", outfile: "dist/index.cjs" }),
  build({ ...common, format: "esm", platform: "browser", minify: true, outfile: "dist/togglerino.min.js" }),
]);
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
