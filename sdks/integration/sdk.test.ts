// @togglerino/sdk against the real binaries: a toggle made through the management API
// reaches the client live; an edge outage keeps values and is reported; the client
// comes back by itself when the edge does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchBootstrap, Togglerino, type Status, type TogglerinoError } from "@togglerino/sdk";
import { startStack, type Stack } from "../../testing/stack.mjs";
import { seedShop, type Shop } from "./shop.js";

let stack: Stack;
let shop: Shop;

beforeAll(async () => {
  stack = await startStack("sdk");
  shop = await seedShop(stack.cpUrl);
});

afterAll(async () => {
  await stack?.stop();
});

function until<T>(what: string, register: (done: (value: T) => void) => void, ms = 40_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe("@togglerino/sdk with a real edge", () => {
  it("follows toggles live, rides out an edge outage and reconnects by itself", async () => {
    const client = new Togglerino({
      baseUrl: stack.edgeUrl,
      sdkKey: shop.sdkKey,
      project: "shop",
      environment: "production",
      context: { user_id: "u1", attributes: { plan: "pro" } },
    });
    const statuses: Status[] = [];
    const errors: TogglerinoError[] = [];
    client.on("status", (s) => statuses.push(s));
    client.on("error", (e) => errors.push(e));
    try {
      await client.initialize();
      expect(client.ready).toBe(true);
      expect(client.status).toBe("streaming");
      expect(client.getDetails("checkout")).toMatchObject({ value: false, variant: null, reason: "DISABLED" });

      // A toggle through the management API arrives as `change`, quickly.
      const changed = until<string[]>("the toggle", (done) => client.on("change", done), 5_000);
      const started = Date.now();
      await shop.toggle(true);
      expect(await changed).toEqual(["checkout"]);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(client.getBool("checkout", false)).toBe(false); // on, serving its default variant
      expect(client.getDetails("checkout").reason).toBe("DEFAULT");

      // The edge goes away: values stay, status and error say so.
      const offline = until<Status>("offline", (done) => client.on("status", (s) => s === "offline" && done(s)));
      await stack.stopEdge();
      await offline;
      expect(errors.length).toBeGreaterThan(0);
      expect(client.getDetails("checkout").reason).toBe("DEFAULT");

      // It comes back on the same address: the client reconnects and sees the next toggle.
      await stack.startEdge();
      await until<Status>("streaming again", (done) => client.on("status", (s) => s === "streaming" && done(s)));
      const again = until<string[]>("the next toggle", (done) => client.on("change", done), 5_000);
      await shop.toggle(false);
      expect(await again).toEqual(["checkout"]);
      expect(client.getDetails("checkout").reason).toBe("DISABLED");
      expect(statuses).toContain("offline");
      expect(client.lastError).toBeNull();
    } finally {
      client.close();
    }
  });

  it("switches users through identify and polls with validators when not streaming", async () => {
    const client = new Togglerino({
      baseUrl: stack.edgeUrl,
      sdkKey: shop.sdkKey,
      project: "shop",
      environment: "production",
      context: { user_id: "u1" },
      streaming: false,
      pollIntervalMs: 200,
    });
    try {
      await client.initialize();
      expect(client.status).toBe("polling");
      expect(client.getDetails("checkout").reason).toBe("DISABLED");
      await client.identify({ user_id: "u2" });
      expect(client.getDetails("checkout").reason).toBe("DISABLED");
      const changed = until<string[]>("the polled toggle", (done) => client.on("change", done), 10_000);
      await shop.toggle(true);
      expect(await changed).toEqual(["checkout"]);
      // Back off, and seen off at the edge, before the next test reads the flag there.
      const back = until<string[]>("the polled toggle back", (done) => client.on("change", done), 10_000);
      await shop.toggle(false);
      expect(await back).toEqual(["checkout"]);
    } finally {
      client.close();
    }
  });

  it("evaluates a request's bootstrap on the server, and gives up quickly without an edge", async () => {
    const options = { sdkKey: shop.sdkKey, project: "shop", environment: "production", context: { user_id: "u9" } };
    const bootstrap = await fetchBootstrap({ baseUrl: stack.edgeUrl, ...options });
    expect(bootstrap?.checkout).toMatchObject({ value: false, variant: null });
    const client = new Togglerino({ baseUrl: stack.edgeUrl, ...options, bootstrap, storage: null });
    expect(client.ready).toBe(true);
    expect(client.getDetails("checkout")).toEqual(bootstrap?.checkout);
    client.close();

    const started = Date.now();
    expect(await fetchBootstrap({ baseUrl: "http://127.0.0.1:9", ...options, timeoutMs: 500 })).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
