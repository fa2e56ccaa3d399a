import { describe, expect, it } from "vitest";

import type { FleetEdge } from "../api/types";
import { chainOrder } from "./EdgesPage";

const edge = (id: string, via: string | null): FleetEdge => ({
  id,
  via,
  state: "live",
  version: "0.1.0",
  upstream: "",
  listen: "",
  started_at: "2026-12-02T00:00:00Z",
  last_seen_at: "2026-12-02T00:00:00Z",
  sdk_streams: 0,
  evaluations_per_second: 0,
  sync_error: null,
  behind: 0,
  environments: [],
});

describe("chainOrder", () => {
  it("lists each edge after the one it follows, deeper by one", () => {
    const order = chainOrder([edge("node-b", "region"), edge("region", null), edge("node-a", "region"), edge("solo", null)]);
    expect(order.map(({ edge, depth }) => `${depth}:${edge.id}`)).toEqual(["0:region", "1:node-a", "1:node-b", "0:solo"]);
  });

  it("shows edges whose upstream edge is unknown, and loops, at the top", () => {
    const order = chainOrder([edge("orphan", "forgotten"), edge("a", "b"), edge("b", "a")]);
    expect(order.map(({ edge, depth }) => `${depth}:${edge.id}`)).toEqual(["0:orphan", "0:a", "0:b"]);
  });
});
