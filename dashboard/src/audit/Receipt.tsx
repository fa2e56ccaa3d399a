import { useQuery } from "@tanstack/react-query";

import { api } from "../api/client";
import { ago } from "../insights/format";

export interface ReceiptData {
  committed_at: string;
  reached: number;
  edges: number;
  slowest_ms: number | null;
  sdk_streams: number;
  environments: {
    project: string;
    environment: string;
    revision: number;
    reached: { edge: string; reached_at: string; after_ms: number; sdk_streams: number }[];
    waiting: { edge: string; state: "live" | "gone"; last_seen_at: string }[];
  }[];
}

/** "Reached 4 of 4 edges in 38 ms, 12,345 SDK streams", or which edges have not got it yet. */
export function receiptText(receipt: ReceiptData): string | null {
  if (receipt.environments.length === 0 || receipt.edges === 0) return null;
  const streams = `${receipt.sdk_streams.toLocaleString("en-US")} SDK stream${receipt.sdk_streams === 1 ? "" : "s"}`;
  const edges = `${receipt.reached} of ${receipt.edges} edge${receipt.edges === 1 ? "" : "s"}`;
  if (receipt.reached === receipt.edges) {
    return `Reached ${edges} in ${(receipt.slowest_ms ?? 0).toLocaleString("en-US")} ms, ${streams}`;
  }
  const waiting = [
    ...new Map(receipt.environments.flatMap((e) => e.waiting).map((w) => [w.edge, w])).values(),
  ].map((w) => `${w.edge} (${w.state === "gone" ? `gone, last heard ${ago(w.last_seen_at)}` : "live"})`);
  return `Reached ${edges}, ${streams}; not yet ${waiting.join(", ")}, since ${ago(receipt.committed_at)}`;
}

/** Whether a change reached every edge; polls until it has. */
export function Receipt({ entryId }: { entryId: number }) {
  const receipt = useQuery({
    queryKey: ["receipt", entryId],
    queryFn: () => api.get<ReceiptData>(`/audit-log/${entryId}/receipt`),
    refetchInterval: (query) => {
      const data = query.state.data;
      return data && data.reached < data.edges ? 2_000 : false;
    },
  });
  const text = receipt.data ? receiptText(receipt.data) : null;
  if (!text) return null;
  const complete = receipt.data !== undefined && receipt.data.reached === receipt.data.edges;
  return (
    <div className={`receipt small ${complete ? "receipt-complete" : "receipt-waiting"}`} data-testid={`receipt-${entryId}`}>
      {text}
    </div>
  );
}
