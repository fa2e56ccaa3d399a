// Builds dist/: ESM and CommonJS for bundlers and Node.js, the minified browser bundle,
// and the type declarations.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { bundles } from "./bundles.mjs";

rmSync("dist", { recursive: true, force: true });
await Promise.all(Object.values(bundles).map((options) => build(options)));
execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
