// Reads are counted per flag and answer and sent to the edge once a minute, for the
// dashboard's insights; nothing is sent when the option is off.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Togglerino } from "../src/client.js";
import type { TogglerinoOptions } from "../src/types.js";
import { FakeEdge } from "./fake-edge.js";

let edge: FakeEdge;
let client: Togglerino;

async function flush() {
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(0);
}

async function start(options: Partial<TogglerinoOptions> = {}) {
  client = new Togglerino({
    baseUrl: "http://edge.test",
    sdkKey: "sdk_test",
    project: "shop",
    environment: "production",
    storage: null,
    ...options,
  });
  void client.initialize();
  await flush();
  edge.last.flags(
    {
      dark: { value: true, variant: "on", reason: "DEFAULT" },
      banner: { value: "none", variant: null, reason: "DISABLED" },
    },
    1,
  );
  await flush();
}

beforeEach(() => {
  vi.useFakeTimers();
  edge = new FakeEdge();
  vi.stubGlobal("fetch", edge.fetch);
});

afterEach(() => {
  client.close();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const sorted = (counts: { flag: string; variant: string | null; count: number }[]) =>
  [...counts].sort((a, b) => `${a.flag}${a.variant}`.localeCompare(`${b.flag}${b.variant}`));

describe("read counts", () => {
  it("are sent once a minute per flag and answer, and only for flags the client holds", async () => {
    await start();
    client.getBool("dark", false);
    client.getBool("dark", false);
    client.getDetails("dark");
    client.getString("banner", "x");
    client.getBool("missing", false);
    client.peekDetails("dark");
    expect(edge.usage).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    await flush();
    expect(edge.usage).toHaveLength(1);
    expect(edge.usage[0]?.url).toBe("http://edge.test/api/v1/usage/shop/production");
    expect(sorted(edge.usage[0]?.counts ?? [])).toEqual([
      { flag: "banner", variant: null, count: 1 },
      { flag: "dark", variant: "on", count: 3 },
    ]);
    // Nothing new read: nothing sent.
    await vi.advanceTimersByTimeAsync(60_000);
    await flush();
    expect(edge.usage).toHaveLength(1);
  });

  it("are kept for the next report while the edge cannot take them", async () => {
    await start({ usageIntervalMs: 1_000 });
    client.getBool("dark", false);
    edge.down = true;
    await vi.advanceTimersByTimeAsync(1_000);
    await flush();
    edge.down = false;
    edge.usageStatus = 503;
    client.getBool("dark", false);
    await vi.advanceTimersByTimeAsync(1_000);
    await flush();
    edge.usageStatus = 202;
    await vi.advanceTimersByTimeAsync(1_000);
    await flush();
    expect(edge.usage.map((u) => u.counts)).toEqual([
      [{ flag: "dark", variant: "on", count: 2 }],
      [{ flag: "dark", variant: "on", count: 2 }],
    ]);
  });

  it("go out when the client closes, and never with sendUsage off", async () => {
    await start();
    client.getBool("dark", false);
    client.close();
    await flush();
    expect(edge.usage.map((u) => u.counts)).toEqual([[{ flag: "dark", variant: "on", count: 1 }]]);

    edge = new FakeEdge();
    vi.stubGlobal("fetch", edge.fetch);
    await start({ sendUsage: false });
    client.getBool("dark", false);
    await vi.advanceTimersByTimeAsync(120_000);
    client.close();
    await flush();
    expect(edge.usage).toEqual([]);
  });
});
