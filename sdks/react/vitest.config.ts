import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The SDK's source, so tests need no build first.
    alias: { "@togglerino/sdk": new URL("../javascript/src/index.ts", import.meta.url).pathname },
  },
  test: { environment: "jsdom" },
});
