import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { bundles } from "../bundles.mjs";

describe("the browser bundle", () => {
  it("stays small: under 10 KB gzipped", async () => {
    const result = await build({ ...bundles.browser, write: false });
    const [bundle] = result.outputFiles;
    if (!bundle) throw new Error("esbuild wrote nothing");
    const bytes = gzipSync(bundle.contents, { level: 9 }).length;
    expect(bytes).toBeGreaterThan(1_000);
    expect(bytes).toBeLessThan(10 * 1024);
  });
});
