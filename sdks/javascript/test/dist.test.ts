import { build } from "esbuild";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { bundles } from "../bundles.mjs";

describe("the published bundles", () => {
  it("load with require and with import, and construct without touching the network", async () => {
    const dir = mkdtempSync(join(tmpdir(), "togglerino-sdk-"));
    for (const kind of ["esm", "cjs"] as const) {
      const result = await build({ ...bundles[kind], write: false });
      const file = result.outputFiles?.[0];
      if (!file) throw new Error("esbuild wrote nothing");
      writeFileSync(join(dir, kind === "esm" ? "index.mjs" : "index.cjs"), file.contents);
    }
    const required = createRequire(import.meta.url)(join(dir, "index.cjs"));
    const imported = await import(pathToFileURL(join(dir, "index.mjs")).href);
    for (const sdk of [required, imported]) {
      expect(Object.keys(sdk).sort()).toEqual(["Togglerino", "TogglerinoError", "fetchBootstrap"]);
      const client = new sdk.Togglerino({
        baseUrl: "http://127.0.0.1:9",
        sdkKey: "k",
        project: "p",
        environment: "e",
        bootstrap: { a: { value: 1, variant: "one", reason: "STATIC" } },
      });
      expect(client.getNumber("a", 0)).toBe(1);
      client.close();
    }
  });
});
