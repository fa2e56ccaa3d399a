-- Togglerino's system of record. Secrets (passwords, session ids, API tokens, SDK keys)
-- are never stored in the clear: passwords as argon2id PHC strings, the rest as SHA-256.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are matched case-insensitively: Jo@Acme.com and jo@acme.com are one person.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
    id_hash    bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    token_hash   bytea NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE projects (
    id          uuid PRIMARY KEY,
    key         text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE environments (
    id         uuid PRIMARY KEY,
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key        text NOT NULL,
    name       text NOT NULL,
    -- Bumped in the same transaction as every change that can alter what this
    -- environment's snapshot evaluates to; edges follow it.
    revision   bigint NOT NULL DEFAULT 1,
    -- clock_timestamp, not now(): a project's first environments are created in one
    -- transaction and must still list in the order they were created.
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (project_id, key)
);

CREATE TABLE sdk_keys (
    id             uuid PRIMARY KEY,
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name           text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('client', 'server')),
    key_hash       bytea NOT NULL UNIQUE,
    prefix         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
CREATE INDEX sdk_keys_environment_id ON sdk_keys (environment_id);

CREATE TABLE flags (
    id            uuid PRIMARY KEY,
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key           text NOT NULL,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    flag_type     text NOT NULL CHECK (flag_type IN ('boolean', 'string', 'number', 'json')),
    default_value jsonb NOT NULL,
    tags          text[] NOT NULL DEFAULT '{}',
    archived      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, key)
);

-- One row per flag and environment. `config` is the shared crate's FlagConfig, validated
-- before every write; `version` gives optimistic concurrency to editors.
CREATE TABLE flag_configs (
    flag_id        uuid NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
    environment_id uuid NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    config         jsonb NOT NULL,
    version        bigint NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text,
    PRIMARY KEY (flag_id, environment_id)
);
CREATE INDEX flag_configs_environment_id ON flag_configs (environment_id);

CREATE TABLE segments (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key         text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    included    text[] NOT NULL DEFAULT '{}',
    excluded    text[] NOT NULL DEFAULT '{}',
    conditions  jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, key)
);

-- Every mutation, written in the same transaction as the change itself. Entries outlive
-- what they describe, so they keep keys and names as text rather than foreign keys.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    project_id      uuid REFERENCES projects (id) ON DELETE SET NULL,
    project_key     text,
    environment_key text,
    actor_type      text NOT NULL CHECK (actor_type IN ('user', 'api_token', 'system')),
    actor_id        uuid,
    actor_name      text NOT NULL,
    action          text NOT NULL,
    entity_type     text NOT NULL,
    entity_key      text NOT NULL,
    old_value       jsonb,
    new_value       jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_project ON audit_log (project_id, id DESC);
CREATE INDEX audit_log_entity ON audit_log (project_id, entity_type, entity_key, id DESC);
