import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

describe("the browser bundle", () => {
  it("stays small: under 10 KB gzipped", async () => {
    // Built exactly as build.mjs builds dist/togglerino.min.js.
    const result = await build({
      entryPoints: [new URL("../src/index.ts", import.meta.url).pathname],
      bundle: true,
      target: "es2020",
      format: "esm",
      platform: "browser",
      minify: true,
      write: false,
    });
    const [bundle] = result.outputFiles;
    if (!bundle) throw new Error("esbuild wrote nothing");
    const bytes = gzipSync(bundle.contents, { level: 9 }).length;
    expect(bytes).toBeGreaterThan(1_000);
    expect(bytes).toBeLessThan(10 * 1024);
  });
});
