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
    // The key was just made: wait until the edge knows it (the SDK waits long after a 401).
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const answer = await fetch(`${stack.edgeUrl}/api/v1/evaluate/shop/production`, {
        method: "POST",
        headers: { authorization: `Bearer ${shop.sdkKey}`, "content-type": "application/json" },
        body: "{}",
      });
      if (answer.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
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
      expect(client.ready).toBe(true);
      for (let i = 0; i < 7; i++) expect(client.getBool("checkout", true)).toBe(false);
      // Served by the edge: the answer that showed the key known, and the stream's
      // `flags` event; then seven reads.
      const deadline = Date.now() + 20_000;
      while ((await production()).total < 9 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await production()).toMatchObject({ total: 9, variants: [{ variant: null, count: 9 }] });
    } finally {
      client.close();
    }
  });
});
