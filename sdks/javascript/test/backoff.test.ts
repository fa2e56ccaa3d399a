import { describe, expect, it } from "vitest";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay } from "../src/backoff.js";

describe("backoffDelay", () => {
  it("starts near a second and doubles up to thirty, waiting between half and all of it", () => {
    const ceilings = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];
    ceilings.forEach((ceiling, attempt) => {
      expect(backoffDelay(attempt, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(attempt, () => 0.999999)).toBeCloseTo(ceiling, -1);
    });
    expect(backoffDelay(0, () => 0)).toBe(BACKOFF_BASE_MS / 2);
  });

  it("never exceeds the maximum, however many attempts", () => {
    for (const attempt of [10, 50, 1_000, Number.MAX_SAFE_INTEGER]) {
      expect(backoffDelay(attempt, () => 1)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    }
  });

  it("spreads clients that failed together", () => {
    const delays = new Set(Array.from({ length: 100 }, () => Math.round(backoffDelay(3))));
    expect(delays.size).toBeGreaterThan(50);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(4_000);
      expect(delay).toBeLessThanOrEqual(8_000);
    }
  });
});
