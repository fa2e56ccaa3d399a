import { describe, expect, it } from "vitest";
import { ago, compactCount, variantLabel } from "./format";

describe("insights formatting", () => {
  it("shortens counts for table cells", () => {
    expect(compactCount(0)).toBe("0");
    expect(compactCount(9_999)).toBe("9,999");
    expect(compactCount(12_345)).toBe("12.3k");
    expect(compactCount(123_456)).toBe("123k");
    expect(compactCount(4_500_000)).toBe("4.5M");
  });

  it("says how long ago in words", () => {
    const now = Date.parse("2026-12-02T12:00:00Z");
    expect(ago("2026-12-02T11:59:30Z", now)).toBe("just now");
    expect(ago("2026-12-02T11:59:00Z", now)).toBe("1 minute ago");
    expect(ago("2026-12-02T09:00:00Z", now)).toBe("3 hours ago");
    expect(ago("2026-11-20T12:00:00Z", now)).toBe("12 days ago");
  });

  it("names the default value served while off", () => {
    expect(variantLabel("on")).toBe("on");
    expect(variantLabel(null)).toBe("off (default value)");
  });
});
