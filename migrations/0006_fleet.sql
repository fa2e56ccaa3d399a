-- Every edge's latest heartbeat (its own, or relayed by the edge it follows). Edges not
-- heard from for a day are forgotten by housekeeping.
CREATE TABLE fleet_edges (
    id           text        PRIMARY KEY,
    -- The `EdgeStatus` as the edge sent it.
    status       jsonb       NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fleet_edges_last_seen_at ON fleet_edges (last_seen_at);
