-- Edges authenticate with their own tokens: they read every environment's snapshot and
-- nothing else, so they are not API tokens with a role.
CREATE TABLE edge_tokens (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Numbers every change notification across all control-plane replicas, so an edge
-- resuming its stream on another replica can tell whether it missed anything.
CREATE SEQUENCE change_seq;
