import { describe, expect, it } from "vitest";
import { FlagCache } from "../src/cache.js";
import { canonicalJson, contextHash, fnv1a64 } from "../src/context.js";
import type { StorageLike } from "../src/types.js";
import { memoryStorage } from "./fake-edge.js";

const on = { value: true, variant: "on", reason: "DEFAULT" };
const off = { value: false, variant: "off", reason: "DEFAULT" };

describe("context hashing", () => {
  it("is FNV-1a 64", () => {
    expect(fnv1a64("")).toBe("cbf29ce484222325");
    expect(fnv1a64("a")).toBe("af63dc4c8601ec8c");
    expect(fnv1a64("foobar")).toBe("85944171f73967e8");
  });

  it("ignores key order and undefined fields, and tells every field apart", () => {
    const a = { user_id: "u1", attributes: { plan: "pro", country: "NL" } };
    const b = { attributes: { country: "NL", plan: "pro", gone: undefined }, user_id: "u1" };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(contextHash(a)).toBe(contextHash(b));
    expect(contextHash({ ...a, attributes: { plan: "pro", country: "DE" } })).not.toBe(contextHash(a));
    expect(contextHash({ user_id: "u2" })).not.toBe(contextHash({ user_id: "u1" }));
  });
});

describe("FlagCache", () => {
  it("keeps values per context and scope, and never writes the context itself", () => {
    const storage = memoryStorage();
    const cache = new FlagCache(storage, "shop:production", 60_000);
    cache.save({ user_id: "alice@example.com" }, { checkout: on });
    cache.save({ user_id: "bob" }, { checkout: off });
    expect(cache.load({ user_id: "alice@example.com" })).toEqual({ checkout: on });
    expect(cache.load({ user_id: "bob" })).toEqual({ checkout: off });
    expect(cache.load({ user_id: "carol" })).toBeUndefined();
    expect(new FlagCache(storage, "shop:staging", 60_000).load({ user_id: "bob" })).toBeUndefined();
    expect([...storage.map.keys(), ...storage.map.values()].join()).not.toContain("alice");
  });

  it("serves nothing past the time to live, and forgets it", () => {
    const storage = memoryStorage();
    let now = 1_000;
    const cache = new FlagCache(storage, "s", 500, () => now);
    cache.save({}, { checkout: on });
    now = 1_400;
    expect(cache.load({})).toEqual({ checkout: on });
    now = 1_600;
    expect(cache.load({})).toBeUndefined();
    expect(storage.map.size).toBe(0);
  });

  it("survives storage that throws or holds garbage", () => {
    const throwing: StorageLike = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("quota");
      },
      removeItem: () => undefined,
    };
    const cache = new FlagCache(throwing, "s", 500);
    expect(() => cache.save({}, { checkout: on })).not.toThrow();
    expect(cache.load({})).toBeUndefined();
    const storage = memoryStorage();
    const garbage = new FlagCache(storage, "s", 500);
    garbage.save({}, { checkout: on });
    const key = [...storage.map.keys()].join();
    storage.map.set(key, "{not json");
    expect(garbage.load({})).toBeUndefined();
    storage.map.set(key, '{"savedAt":"x"}');
    expect(garbage.load({})).toBeUndefined();
  });
});
