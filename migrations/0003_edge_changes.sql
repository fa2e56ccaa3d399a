-- Every committed change edges must hear of, in order: one row per environment a write
-- moved, with the delta that takes it from `revision - 1` to `revision`. Edges
-- resuming their stream replay the rows they missed; older rows are pruned, and an
-- edge that was away longer pulls what it lacks instead.
CREATE TABLE edge_changes (
    -- From change_seq, taken while writers hold one advisory lock, so rows commit in
    -- seq order and a reader that sees one row sees every row before it.
    seq             bigint PRIMARY KEY,
    -- Not a foreign key: deleted environments are told too.
    environment_id  uuid NOT NULL,
    revision        bigint NOT NULL,
    -- The `Delta` exactly as edges receive it.
    delta           jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX edge_changes_created_at ON edge_changes (created_at);
