import { describe, expect, it } from "vitest";

import { receiptText, type ReceiptData } from "./Receipt";

const base: ReceiptData = {
  committed_at: new Date(Date.now() - 120_000).toISOString(),
  reached: 2,
  edges: 2,
  slowest_ms: 38,
  sdk_streams: 12_345,
  environments: [{ project: "shop", environment: "production", revision: 7, reached: [], waiting: [] }],
};

describe("receiptText", () => {
  it("says how far and how fast a change went", () => {
    expect(receiptText(base)).toBe("Reached 2 of 2 edges in 38 ms, 12,345 SDK streams");
  });

  it("names the edges still waiting, and says nothing for changes no edge serves", () => {
    const waiting: ReceiptData = {
      ...base,
      reached: 1,
      environments: [
        {
          project: "shop",
          environment: "production",
          revision: 7,
          reached: [],
          waiting: [{ edge: "edge-b", state: "gone", last_seen_at: new Date(Date.now() - 300_000).toISOString() }],
        },
      ],
    };
    expect(receiptText(waiting)).toBe(
      "Reached 1 of 2 edges, 12,345 SDK streams; not yet edge-b (gone, last heard 5 minutes ago), since 2 minutes ago",
    );
    expect(receiptText({ ...base, edges: 0, reached: 0 })).toBeNull();
    expect(receiptText({ ...base, environments: [] })).toBeNull();
  });
});
