import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Togglerino } from "../src/client.js";
import type { FlagValues, Status, TogglerinoError, TogglerinoOptions } from "../src/types.js";
import { FakeEdge, memoryStorage } from "./fake-edge.js";

const flag = (value: unknown, variant: string | null = "v", reason = "DEFAULT") => ({ value, variant, reason });

let edge: FakeEdge;
const clients: Togglerino[] = [];

function client(options: Partial<TogglerinoOptions> = {}): Togglerino {
  const c = new Togglerino({
    baseUrl: "http://edge.test/",
    sdkKey: "sdk_test",
    project: "shop",
    environment: "production",
    context: { user_id: "u1" },
    storage: null,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Lets every pending promise, stream read and zero-delay timer run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await vi.advanceTimersByTimeAsync(0);
}

function record(c: Togglerino) {
  const changes: string[][] = [];
  const statuses: Status[] = [];
  const errors: TogglerinoError[] = [];
  c.on("change", (keys) => changes.push(keys));
  c.on("status", (s) => statuses.push(s));
  c.on("error", (e) => errors.push(e));
  return { changes, statuses, errors };
}

beforeEach(() => {
  vi.useFakeTimers();
  edge = new FakeEdge();
  vi.stubGlobal("fetch", edge.fetch);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("Togglerino", () => {
  it("resolves initialize with the stream's first answer and serves typed values", async () => {
    const c = client();
    const seen = record(c);
    let ready = false;
    c.on("ready", () => (ready = true));
    let resolved = false;
    void c.initialize().then(() => (resolved = true));
    await flush();
    expect(resolved).toBe(false);
    expect(edge.last.context).toEqual({ user_id: "u1" });
    expect(edge.last.headers.get("authorization")).toBe("Bearer sdk_test");
    edge.last.flags(
      { dark: flag(true, "on", "SPLIT"), copy: flag("Buy now"), limit: flag(3), layout: flag({ cols: 2 }), list: flag([1]) },
      5,
    );
    await flush();
    expect(resolved && ready).toBe(true);
    expect(c.status).toBe("streaming");
    expect(seen.statuses).toEqual(["streaming"]);
    expect(c.getBool("dark", false)).toBe(true);
    expect(c.getString("copy", "x")).toBe("Buy now");
    expect(c.getNumber("limit", 0)).toBe(3);
    expect(c.getJson("layout", { cols: 1 })).toEqual({ cols: 2 });
    expect(c.getJson("list", [] as number[])).toEqual([1]);
    // The wrong type, or an unknown flag, gives the default; nothing throws.
    expect(c.getString("dark", "fallback")).toBe("fallback");
    expect(c.getNumber("copy", 7)).toBe(7);
    expect(c.getBool("limit", false)).toBe(false);
    expect(c.getJson("list", { a: 1 })).toEqual({ a: 1 });
    expect(c.getJson("layout", [0])).toEqual([0]);
    expect(c.getBool("missing", true)).toBe(true);
    expect(c.getDetails("dark")).toEqual({ value: true, variant: "on", reason: "SPLIT" });
    expect(c.getDetails("missing")).toEqual({ value: undefined, variant: null, reason: "FLAG_NOT_FOUND" });
    expect(Object.keys(c.allFlags()).sort()).toEqual(["copy", "dark", "layout", "limit", "list"]);
    expect(seen.changes).toEqual([["dark", "copy", "limit", "layout", "list"]]);
  });

  it("applies patches as upserts and announces only values that moved", async () => {
    const c = client();
    const seen = record(c);
    const perKey: unknown[] = [];
    c.on("change:a", (details) => perKey.push(details.value));
    void c.initialize();
    await flush();
    edge.last.flags({ a: flag(1), b: flag(2), c: flag(3) }, 1);
    await flush();
    seen.changes.length = 0;
    // `a` repeated unmoved, `b` moved, `c` removed, `d` added.
    edge.last.patch({ a: flag(1), b: flag(20), d: flag(4) }, ["c"], 2);
    await flush();
    expect(seen.changes).toEqual([["b", "d", "c"]]);
    expect(c.allFlags()).toEqual({ a: flag(1), b: flag(20), d: flag(4) });
    expect(perKey).toEqual([1]);
    // A patch that moves nothing is silent.
    edge.last.patch({ a: flag(1) }, ["never-existed"], 3);
    await flush();
    expect(seen.changes).toHaveLength(1);
    // A variant that changes with the same value is a change.
    edge.last.patch({ a: flag(1, "other") }, [], 4);
    await flush();
    expect(seen.changes.at(-1)).toEqual(["a"]);
  });

  it("keeps its values over malformed events", async () => {
    const c = client();
    const seen = record(c);
    void c.initialize();
    await flush();
    edge.last.flags({ dark: flag(true) }, 1);
    await flush();
    edge.last.raw("event: flags\ndata: {not json\n\n");
    edge.last.raw('event: flags\ndata: {"revision": 2}\n\n');
    edge.last.raw('event: patch\ndata: {"flags": {"dark": "not details"}}\n\n');
    await flush();
    expect(c.getBool("dark", false)).toBe(true);
    expect(seen.errors.map((e) => e.code)).toEqual(["invalid_response", "invalid_response"]);
    expect(c.status).toBe("streaming");
  });

  it("never hangs: initialize settles after timeoutMs with defaults and an error", async () => {
    edge.down = true;
    const c = client({ timeoutMs: 2_000 });
    const seen = record(c);
    let resolved = false;
    void c.initialize().then(() => (resolved = true));
    await vi.advanceTimersByTimeAsync(1_900);
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    expect(resolved).toBe(true);
    expect(c.getBool("dark", true)).toBe(true);
    expect(c.ready).toBe(false);
    expect(seen.errors.map((e) => e.code)).toContain("timeout");
    expect(seen.errors.map((e) => e.code)).toContain("network");
    expect(c.status).toBe("offline");
  });

  it("serves bootstrap values at once and then follows the edge", async () => {
    const bootstrap: FlagValues = { dark: flag(true, "on") };
    const c = client({ bootstrap });
    expect(c.getBool("dark", false)).toBe(true);
    await c.initialize();
    expect(c.ready).toBe(true);
    expect(c.bootstrapFlags()).toEqual(bootstrap);
    await flush();
    edge.last.flags({ dark: flag(false, "off") }, 2);
    await flush();
    expect(c.getBool("dark", true)).toBe(false);
  });

  it("switches users without ever mixing their values", async () => {
    const c = client();
    const seen = record(c);
    void c.initialize();
    await flush();
    const alice = edge.last;
    alice.flags({ plan: flag("pro"), shared: flag(1) }, 1);
    await flush();
    seen.changes.length = 0;

    let switched = false;
    void c.identify({ user_id: "bob" }).then(() => (switched = true));
    await flush();
    expect(alice.closed).toBe(true);
    const bob = edge.last;
    expect(bob.context).toEqual({ user_id: "bob" });
    // Until Bob's answer is in, Alice's values stay; a late event on her stream is dropped.
    alice.patch({ plan: flag("enterprise") }, [], 2);
    await flush();
    expect(c.getString("plan", "")).toBe("pro");
    expect(switched).toBe(false);
    bob.flags({ plan: flag("free"), shared: flag(1) }, 2);
    await flush();
    expect(switched).toBe(true);
    expect(c.getString("plan", "")).toBe("free");
    expect(seen.changes).toEqual([["plan"]]);
  });

  it("drops a slow answer for the previous user", async () => {
    let release!: () => void;
    edge.gate = (context) => (context.user_id === "u1" ? new Promise((r) => (release = r)) : Promise.resolve());
    edge.answer = (context) => ({ flags: { who: flag(context.user_id) }, revision: 1 });
    const c = client({ streaming: false, pollIntervalMs: 60_000 });
    void c.initialize();
    await flush();
    const bobReady = c.identify({ user_id: "bob" });
    await flush();
    await bobReady;
    expect(c.getString("who", "")).toBe("bob");
    release();
    await flush();
    expect(c.getString("who", "")).toBe("bob");
  });

  it("falls back to polling after repeated stream failures, and returns to streaming", async () => {
    edge.streamStatus = 503;
    edge.answer = () => ({ flags: { dark: flag(true) }, revision: 3 });
    const c = client({ pollIntervalMs: 10_000 });
    const seen = record(c);
    void c.initialize();
    await vi.advanceTimersByTimeAsync(8_000);
    expect(c.status).toBe("polling");
    expect(c.getBool("dark", false)).toBe(true);
    expect(edge.evaluations.length).toBeGreaterThan(0);
    expect(seen.errors.every((e) => e.status === 503)).toBe(true);

    // Polls carry the validator and cost a 304 while nothing changed.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(edge.evaluations.at(-1)?.ifNoneMatch).toMatch(/^"3-/);

    edge.streamStatus = null;
    for (let waited = 0; edge.open.length === 0; waited += 1_000) {
      expect(waited).toBeLessThan(31_000);
      await vi.advanceTimersByTimeAsync(1_000);
    }
    edge.last.flags({ dark: flag(false) }, 4);
    await flush();
    expect(c.status).toBe("streaming");
    const polls = edge.evaluations.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(edge.evaluations.length).toBe(polls);
    expect(c.getBool("dark", true)).toBe(false);
  });

  it("keeps its values while the edge is gone, and reconnects with backoff and Last-Event-ID", async () => {
    const c = client();
    const seen = record(c);
    void c.initialize();
    await flush();
    edge.last.flags({ dark: flag(true) }, 9);
    await flush();
    edge.down = true;
    edge.last.abort(new TypeError("connection reset"));
    await flush();
    expect(c.status).toBe("offline");
    expect(c.getBool("dark", false)).toBe(true);
    expect(seen.errors.at(-1)?.code).toBe("network");
    const attempts = edge.streams.length;
    // No reconnect storm: within a second at most one more attempt.
    await vi.advanceTimersByTimeAsync(400);
    expect(edge.streams.length).toBe(attempts);
    edge.down = false;
    await vi.advanceTimersByTimeAsync(1_100);
    expect(edge.streams.length).toBe(attempts + 1);
    expect(edge.last.lastEventId).toBe("9");
    edge.last.flags({ dark: flag(false) }, 10);
    await flush();
    expect(c.status).toBe("streaming");
    expect(c.getBool("dark", true)).toBe(false);
  });

  it("treats a silent stream as dead after the read timeout", async () => {
    const c = client();
    void c.initialize();
    await flush();
    edge.last.flags({}, 1);
    await flush();
    const first = edge.last;
    await vi.advanceTimersByTimeAsync(15_000);
    first.raw(":heartbeat\n\n");
    await vi.advanceTimersByTimeAsync(15_000);
    expect(first.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(first.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(edge.last).not.toBe(first);
  });

  it("renders the last known values at once on the next start", async () => {
    const storage = memoryStorage();
    const first = client({ storage });
    void first.initialize();
    await flush();
    edge.last.flags({ dark: flag(true) }, 1);
    await flush();
    first.close();
    expect(client({ storage }).getBool("dark", false)).toBe(true);
    expect(client({ storage, context: { user_id: "someone-else" } }).getBool("dark", false)).toBe(false);
  });

  it("reports a refused key and does not hammer the edge with it", async () => {
    const c = client({ sdkKey: "sdk_revoked" });
    const seen = record(c);
    void c.initialize();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen.errors[0]?.code).toBe("unauthorized");
    expect(edge.streams.length + edge.evaluations.length).toBe(0);
  });

  it("close releases every timer and stream", async () => {
    const c = client({ pollIntervalMs: 5_000 });
    void c.initialize();
    await flush();
    edge.last.flags({ dark: flag(true) }, 1);
    await flush();
    c.close();
    await flush();
    expect(edge.open).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    const before = edge.streams.length;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(edge.streams.length).toBe(before);
    expect(c.getBool("dark", false)).toBe(true);
  });
});
