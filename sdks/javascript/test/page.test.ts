// @vitest-environment jsdom
// In a browser page: no stream while the page is hidden for a while, a fresh one when
// it is shown again, and a retry as soon as the network comes back.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Togglerino } from "../src/client.js";
import { FakeEdge } from "./fake-edge.js";

let edge: FakeEdge;
let client: Togglerino;

function setVisibility(state: "hidden" | "visible") {
  Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}

async function flush() {
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(0);
}

beforeEach(async () => {
  vi.useFakeTimers();
  edge = new FakeEdge();
  vi.stubGlobal("fetch", edge.fetch);
  localStorage.clear();
  client = new Togglerino({
    baseUrl: "http://edge.test",
    sdkKey: "sdk_test",
    project: "shop",
    environment: "production",
    context: { user_id: "u1" },
  });
  void client.initialize();
  await flush();
  edge.last.flags({ dark: { value: true, variant: "on", reason: "DEFAULT" } }, 1);
  await flush();
});

afterEach(() => {
  client.close();
  setVisibility("visible");
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("in a browser page", () => {
  it("closes the stream after a minute hidden and refreshes when shown", async () => {
    const first = edge.last;
    // A short look away keeps the stream (heartbeats keep it alive meanwhile).
    setVisibility("hidden");
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(15_000);
      first.raw(":heartbeat\n\n");
    }
    setVisibility("visible");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.closed).toBe(false);
    expect(edge.streams).toHaveLength(1);

    first.raw(":heartbeat\n\n");
    setVisibility("hidden");
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(15_000);
      first.raw(":heartbeat\n\n");
    }
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.closed).toBe(true);
    expect(edge.open).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(edge.open).toHaveLength(0);
    expect(client.getBool("dark", false)).toBe(true);

    setVisibility("visible");
    await flush();
    expect(edge.open).toHaveLength(1);
    edge.last.flags({ dark: { value: false, variant: "off", reason: "DEFAULT" } }, 2);
    await flush();
    expect(client.getBool("dark", true)).toBe(false);
  });

  it("keeps values in localStorage for the next page load, and retries when back online", async () => {
    const reloaded = new Togglerino({
      baseUrl: "http://edge.test",
      sdkKey: "sdk_test",
      project: "shop",
      environment: "production",
      context: { user_id: "u1" },
    });
    expect(reloaded.getBool("dark", false)).toBe(true);
    reloaded.close();

    edge.down = true;
    edge.last.abort(new TypeError("network changed"));
    await flush();
    expect(client.status).toBe("offline");
    const attempts = edge.streams.length;
    edge.down = false;
    window.dispatchEvent(new Event("online"));
    await flush();
    expect(edge.streams.length).toBe(attempts + 1);
  });

  it("sends what it read with a beacon when the page is hidden", async () => {
    class RecordedBlob {
      constructor(
        readonly parts: string[],
        readonly options: { type: string },
      ) {}
    }
    vi.stubGlobal("Blob", RecordedBlob);
    const beacons: { url: string; body: RecordedBlob }[] = [];
    vi.stubGlobal("navigator", {
      ...navigator,
      sendBeacon: (url: string, body: RecordedBlob) => {
        beacons.push({ url, body });
        return true;
      },
    });
    client.getBool("dark", false);
    client.getBool("dark", false);
    setVisibility("hidden");
    expect(beacons.map((b) => b.url)).toEqual(["http://edge.test/api/v1/usage/shop/production?sdk_key=sdk_test"]);
    expect(beacons[0]?.body.options.type).toBe("text/plain");
    expect(JSON.parse(beacons[0]?.body.parts.join("") ?? "")).toEqual({
      counts: [{ flag: "dark", variant: "on", count: 2 }],
    });
    // Counted once: the minute's report has nothing left to send.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(edge.usage).toEqual([]);
  });
});
