import { useQuery } from "@tanstack/react-query";

import { api } from "../api/client";
import type { FleetEdge } from "../api/types";
import { Empty, Failed, Loading } from "../components/ui";
import { ago, compactCount } from "../insights/format";

/** Edges in chain order: each edge after the one it follows, indented by depth. */
export function chainOrder(edges: FleetEdge[]): { edge: FleetEdge; depth: number }[] {
  const ids = new Set(edges.map((e) => e.id));
  const children = new Map<string | null, FleetEdge[]>();
  for (const edge of edges) {
    // An edge whose upstream edge is not listed hangs at the top.
    const parent = edge.via !== null && ids.has(edge.via) ? edge.via : null;
    children.set(parent, [...(children.get(parent) ?? []), edge]);
  }
  const out: { edge: FleetEdge; depth: number }[] = [];
  const seen = new Set<string>();
  const walk = (parent: string | null, depth: number) => {
    for (const edge of (children.get(parent) ?? []).sort((a, b) => a.id.localeCompare(b.id))) {
      if (seen.has(edge.id)) continue;
      seen.add(edge.id);
      out.push({ edge, depth });
      walk(edge.id, depth + 1);
    }
  };
  walk(null, 0);
  // A loop of edges naming each other (misconfigured chains) still shows.
  for (const edge of edges) if (!seen.has(edge.id)) out.push({ edge, depth: 0 });
  return out;
}

/** Every edge heard from in the last day: its chain, revisions, streams and traffic. */
export function EdgesPage() {
  const edges = useQuery({
    queryKey: ["edges"],
    queryFn: () => api.get<{ edges: FleetEdge[] }>("/edges"),
    refetchInterval: 5_000,
  });
  return (
    <section className="page">
      <div className="page-header">
        <h1>Edges</h1>
      </div>
      <p className="muted">
        Every edge reports every 15 seconds: the revision it serves in each environment, its SDK streams and its traffic.
        Chained edges report through the edge they follow. An edge silent for a minute is gone; after a day it is forgotten.
      </p>
      {edges.isPending ? (
        <Loading what="edges" />
      ) : edges.isError ? (
        <Failed error={edges.error} retry={() => void edges.refetch()} />
      ) : edges.data.edges.length === 0 ? (
        <Empty>
          <p>No edge has reported yet. Start one with an edge token (see Tokens) and it appears here within seconds.</p>
        </Empty>
      ) : (
        <table className="table" aria-label="Edges">
          <thead>
            <tr>
              <th scope="col">Edge</th>
              <th scope="col">State</th>
              <th scope="col">Revisions</th>
              <th scope="col">SDK streams</th>
              <th scope="col">Evaluations/s</th>
              <th scope="col">Last heard</th>
            </tr>
          </thead>
          <tbody>
            {chainOrder(edges.data.edges).map(({ edge, depth }) => (
              <tr key={edge.id} data-testid={`edge-${edge.id}`} className={edge.state === "gone" ? "gone" : undefined}>
                <td style={{ paddingLeft: `${0.8 + depth * 1.5}rem` }}>
                  {depth > 0 && (
                    <span className="muted" aria-hidden>
                      ↳{" "}
                    </span>
                  )}
                  <code>{edge.id}</code>
                  <div className="muted small">
                    {edge.listen} · from {edge.upstream} · v{edge.version} · started {ago(edge.started_at)}
                  </div>
                  {edge.sync_error && <div className="error small">{edge.sync_error}</div>}
                </td>
                <td>
                  <span className={`badge ${edge.state === "live" ? "badge-live" : ""}`}>{edge.state}</span>
                </td>
                <td>
                  {edge.behind === 0 ? (
                    <span title={edge.environments.map((e) => `${e.project}/${e.environment} r${e.revision}`).join("\n")}>
                      current ({edge.environments.length} environments)
                    </span>
                  ) : (
                    <span className="error">
                      {edge.behind} behind in{" "}
                      {edge.environments
                        .filter((e) => e.behind > 0)
                        .map((e) => `${e.project}/${e.environment}`)
                        .join(", ")}
                    </span>
                  )}
                </td>
                <td>{compactCount(edge.sdk_streams)}</td>
                <td>{edge.evaluations_per_second.toLocaleString("en-US")}</td>
                <td title={new Date(edge.last_seen_at).toLocaleString()}>{ago(edge.last_seen_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
