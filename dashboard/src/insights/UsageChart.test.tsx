import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { EnvironmentUsage, FlagUsage } from "../api/types";
import { UsageChart } from "./UsageChart";

const usage: EnvironmentUsage = {
  environment: "production",
  total: 9,
  variants: [
    { variant: "on", count: 6 },
    { variant: null, count: 3 },
  ],
  buckets: [
    { start: "2026-12-02T10:00:00Z", counts: [{ variant: "on", count: 4 }] },
    {
      start: "2026-12-02T12:00:00Z",
      counts: [
        { variant: null, count: 3 },
        { variant: "on", count: 2 },
      ],
    },
  ],
  last_evaluated_at: "2026-12-02T12:01:00Z",
};
const range: FlagUsage = { step: "hour", from: "2026-12-02T09:30:00Z", to: "2026-12-02T13:30:00Z", environments: [usage] };

describe("UsageChart", () => {
  it("stacks each bucket's variants, leaves empty hours empty, and totals the legend", () => {
    const { container } = render(<UsageChart range={range} usage={usage} environmentName="Production" />);
    const chart = screen.getByRole("img", { name: "Evaluations per hour in Production: 9 in all, at most 5 in one hour" });
    // Hours 09, 10, 11, 12 and 13; bars only where something was counted.
    expect(chart.querySelectorAll("g")).toHaveLength(2);
    const rects = [...container.querySelectorAll("rect")];
    expect(rects).toHaveLength(3);
    const heights = rects.map((r) => Number(r.getAttribute("height")));
    // The busiest hour (5) fills the chart; 4 of 5 is four fifths of it.
    expect((heights[1] ?? 0) + (heights[2] ?? 0)).toBeCloseTo(136);
    expect(heights[0]).toBeCloseTo((4 / 5) * 136);
    // The same variant keeps its color from bucket to bucket.
    expect(rects[0]?.getAttribute("fill")).toBe(rects[2]?.getAttribute("fill"));
    const legend = screen.getByRole("list", { name: "Evaluations per variant" });
    expect(within(legend).getAllByRole("listitem").map((li) => li.textContent)).toEqual(["on 6", "off (default value) 3"]);
  });
});
