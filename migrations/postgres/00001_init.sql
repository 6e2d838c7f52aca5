-- Initial schema (PostgreSQL).
--
-- Times are TIMESTAMPTZ. List fields are JSON arrays of strings in TEXT
-- columns (the same encoding as on SQLite). Ids are TEXT. Optional strings
-- are '' rather than NULL; optional times are NULL.

-- +goose Up
CREATE TABLE users (
    id                   TEXT        NOT NULL PRIMARY KEY,
    email                TEXT        NOT NULL,
    email_lower          TEXT        NOT NULL UNIQUE,
    email_verified       BOOLEAN     NOT NULL DEFAULT FALSE,
    name                 TEXT        NOT NULL DEFAULT '',
    password_hash        TEXT        NOT NULL DEFAULT '',
    disabled             BOOLEAN     NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE auth_requests (
    id                    TEXT        NOT NULL PRIMARY KEY,
    client_id             TEXT        NOT NULL,
    redirect_uri          TEXT        NOT NULL,
    scopes                TEXT        NOT NULL DEFAULT '[]',
    state                 TEXT        NOT NULL DEFAULT '',
    nonce                 TEXT        NOT NULL DEFAULT '',
    response_type         TEXT        NOT NULL DEFAULT '',
    response_mode         TEXT        NOT NULL DEFAULT '',
    code_challenge        TEXT        NOT NULL DEFAULT '',
    code_challenge_method TEXT        NOT NULL DEFAULT '',
    prompt                TEXT        NOT NULL DEFAULT '[]',
    max_age_ns            BIGINT,
    login_hint            TEXT        NOT NULL DEFAULT '',
    ui_locales            TEXT        NOT NULL DEFAULT '[]',
    acr_values            TEXT        NOT NULL DEFAULT '[]',
    browser_hash          TEXT        NOT NULL DEFAULT '',
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ NOT NULL,
    user_id               TEXT        NOT NULL DEFAULT '',
    session_id            TEXT        NOT NULL DEFAULT '',
    auth_time             TIMESTAMPTZ NOT NULL,
    amr                   TEXT        NOT NULL DEFAULT '[]',
    acr                   TEXT        NOT NULL DEFAULT '',
    completed_at          TIMESTAMPTZ,
    code_hash             TEXT        NOT NULL DEFAULT '',
    code_expires_at       TIMESTAMPTZ NOT NULL,
    code_used_at          TIMESTAMPTZ
);
CREATE UNIQUE INDEX auth_requests_code_hash ON auth_requests (code_hash) WHERE code_hash <> '';
CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

CREATE TABLE access_tokens (
    id                TEXT        NOT NULL PRIMARY KEY,
    client_id         TEXT        NOT NULL,
    subject           TEXT        NOT NULL,
    user_id           TEXT        NOT NULL DEFAULT '',
    audience          TEXT        NOT NULL DEFAULT '[]',
    scopes            TEXT        NOT NULL DEFAULT '[]',
    session_id        TEXT        NOT NULL DEFAULT '',
    refresh_family_id TEXT        NOT NULL DEFAULT '',
    auth_request_id   TEXT        NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,
    revoked_at        TIMESTAMPTZ
);
CREATE INDEX access_tokens_session_id ON access_tokens (session_id);
CREATE INDEX access_tokens_refresh_family_id ON access_tokens (refresh_family_id);
CREATE INDEX access_tokens_auth_request_id ON access_tokens (auth_request_id);
CREATE INDEX access_tokens_user_id ON access_tokens (user_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    id                TEXT        NOT NULL PRIMARY KEY,
    token_hash        TEXT        NOT NULL UNIQUE,
    family_id         TEXT        NOT NULL,
    client_id         TEXT        NOT NULL,
    user_id           TEXT        NOT NULL DEFAULT '',
    session_id        TEXT        NOT NULL DEFAULT '',
    auth_request_id   TEXT        NOT NULL DEFAULT '',
    scopes            TEXT        NOT NULL DEFAULT '[]',
    audience          TEXT        NOT NULL DEFAULT '[]',
    amr               TEXT        NOT NULL DEFAULT '[]',
    acr               TEXT        NOT NULL DEFAULT '',
    auth_time         TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,
    family_expires_at TIMESTAMPTZ NOT NULL,
    used_at           TIMESTAMPTZ,
    revoked_at        TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_auth_request_id ON refresh_tokens (auth_request_id);

CREATE TABLE sessions (
    id                  TEXT        NOT NULL PRIMARY KEY,
    token_hash          TEXT        NOT NULL UNIQUE,
    user_id             TEXT        NOT NULL,
    auth_time           TIMESTAMPTZ NOT NULL,
    amr                 TEXT        NOT NULL DEFAULT '[]',
    acr                 TEXT        NOT NULL DEFAULT '',
    ip                  TEXT        NOT NULL DEFAULT '',
    user_agent          TEXT        NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    last_seen_at        TIMESTAMPTZ NOT NULL,
    idle_expires_at     TIMESTAMPTZ NOT NULL,
    absolute_expires_at TIMESTAMPTZ NOT NULL,
    ended_at            TIMESTAMPTZ
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE signing_keys (
    id                    TEXT        NOT NULL PRIMARY KEY,
    algorithm             TEXT        NOT NULL,
    private_key_encrypted BYTEA       NOT NULL,
    public_key            BYTEA       NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    activates_at          TIMESTAMPTZ NOT NULL,
    retires_at            TIMESTAMPTZ
);

CREATE TABLE audit_events (
    id        TEXT        NOT NULL PRIMARY KEY,
    time      TIMESTAMPTZ NOT NULL,
    type      TEXT        NOT NULL,
    user_id   TEXT        NOT NULL DEFAULT '',
    client_id TEXT        NOT NULL DEFAULT '',
    ip        TEXT        NOT NULL DEFAULT '',
    outcome   TEXT        NOT NULL DEFAULT '',
    detail    TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_user_id ON audit_events (user_id);

CREATE TABLE counters (
    "key"        TEXT        NOT NULL PRIMARY KEY,
    "count"      INTEGER     NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    "last"       TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE counters;
DROP TABLE audit_events;
DROP TABLE signing_keys;
DROP TABLE sessions;
DROP TABLE refresh_tokens;
DROP TABLE access_tokens;
DROP TABLE auth_requests;
DROP TABLE users;
