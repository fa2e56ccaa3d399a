-- Propagation receipts. Each audited write that moved revisions records which
-- (environment, revision) it produced; each edge's heartbeats record when it put each
-- revision in service. A change has reached an edge once the edge serves its revision
-- or a later one.
CREATE TABLE audit_revisions (
    audit_id    bigint NOT NULL REFERENCES audit_log (id) ON DELETE CASCADE,
    project     text   NOT NULL,
    environment text   NOT NULL,
    revision    bigint NOT NULL,
    PRIMARY KEY (audit_id, project, environment)
);

CREATE TABLE edge_applied (
    edge_id     text        NOT NULL,
    project     text        NOT NULL,
    environment text        NOT NULL,
    revision    bigint      NOT NULL,
    applied_at  timestamptz NOT NULL,
    -- SDK streams open on the environment when the edge reported the revision.
    sdk_streams bigint      NOT NULL,
    PRIMARY KEY (edge_id, project, environment, revision)
);
CREATE INDEX edge_applied_environment ON edge_applied (project, environment, revision);
CREATE INDEX edge_applied_applied_at ON edge_applied (applied_at);
