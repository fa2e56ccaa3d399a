import { defineConfig } from "vitest/config";

// The SDKs against a real control plane, edge and PostgreSQL (testing/stack.mjs); the
// binaries must be built first (./scripts/test does).
export default defineConfig({
  resolve: {
    alias: { "@togglerino/sdk": new URL("./javascript/src/index.ts", import.meta.url).pathname },
  },
  test: {
    include: ["integration/**/*.test.{ts,tsx}"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
