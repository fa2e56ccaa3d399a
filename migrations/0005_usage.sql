-- Evaluation counts reported by edges, per environment, flag and answer. Each report
-- adds to its minute and to that minute's hour in one transaction, so the two never
-- disagree; minutes are kept a few days, hours much longer (see --usage-*-retention).
-- `variant` is '' for the flag's default value served while it was off.
CREATE TABLE usage_minutes (
    environment_id uuid        NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag_id        uuid        NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    minute         timestamptz NOT NULL,
    variant        text        NOT NULL,
    count          bigint      NOT NULL,
    PRIMARY KEY (environment_id, flag_id, minute, variant)
);
CREATE INDEX usage_minutes_minute ON usage_minutes (minute);
CREATE INDEX usage_minutes_flag ON usage_minutes (flag_id, minute);

CREATE TABLE usage_hours (
    environment_id uuid        NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    flag_id        uuid        NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    hour           timestamptz NOT NULL,
    variant        text        NOT NULL,
    count          bigint      NOT NULL,
    PRIMARY KEY (environment_id, flag_id, hour, variant)
);
CREATE INDEX usage_hours_hour ON usage_hours (hour);
CREATE INDEX usage_hours_flag ON usage_hours (flag_id, hour);

-- Each edge process numbers its reports and sends them in order, again and again until
-- one is taken: a report numbered at or below the last one taken is a repeat.
CREATE TABLE usage_edges (
    edge     text        PRIMARY KEY,
    last_seq bigint      NOT NULL,
    seen_at  timestamptz NOT NULL DEFAULT now()
);
