// Reads counted by @togglerino/sdk reach the control plane's insights through a real
// edge, added to what the edge served itself, each exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Togglerino } from "@togglerino/sdk";
import { startStack, type Stack } from "../../testing/stack.mjs";
import { seedShop, type Shop } from "./shop.js";

let stack: Stack;
let shop: Shop;

beforeAll(async () => {
  stack = await startStack("usage", { edgeArgs: ["--usage-interval", "250ms"] });
  shop = await seedShop(stack.cpUrl);
});

afterAll(async () => {
  await stack?.stop();
});

async function production(): Promise<{ total: number; variants: unknown }> {
  const { body } = await shop.api("GET", "/projects/shop/flags/checkout/usage?environment=production&step=minute");
  return body.environments[0];
}

describe("read counts from @togglerino/sdk", () => {
  it("show up in the flag's insights beside what the edge served", async () => {
    const client = new Togglerino({
      baseUrl: stack.edgeUrl,
      sdkKey: shop.sdkKey,
      project: "shop",
      environment: "production",
      context: { user_id: "u1" },
      storage: null,
      usageIntervalMs: 250,
    });
    try {
      await client.initialize();
      for (let i = 0; i < 7; i++) expect(client.getBool("checkout", true)).toBe(false);
      // The stream's `flags` event (served by the edge) and seven reads.
      const deadline = Date.now() + 20_000;
      while ((await production()).total < 8 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await production()).toMatchObject({ total: 8, variants: [{ variant: null, count: 8 }] });
    } finally {
      client.close();
    }
  });
});
