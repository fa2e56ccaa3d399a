// Builds dist/: ESM and CommonJS, with React and @togglerino/sdk left to the app, and
// the type declarations.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
const common = {
  entryPoints: ["src/index.tsx"],
  bundle: true,
  target: "es2020",
  jsx: "automatic",
  external: ["react", "react/jsx-runtime", "@togglerino/sdk"],
  logLevel: "warning",
};
await Promise.all([
  build({ ...common, format: "esm", platform: "neutral", outfile: "dist/index.js" }),
  build({ ...common, format: "cjs", platform: "node", outfile: "dist/index.cjs" }),
]);
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
