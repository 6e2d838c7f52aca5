-- Initial schema (SQLite).
--
-- Times are DATETIME columns holding text that the driver writes and parses
-- back into time.Time: "2025-04-01 09:00:00.123456+00:00". The store passes
-- only UTC times with at most microseconds, and for those this text sorts
-- and compares in time order (trailing zeros of the fraction are dropped,
-- and "+" sorts before "." and every digit). List fields are JSON arrays
-- of strings in TEXT columns. Ids are TEXT. Optional strings are '' rather
-- than NULL; optional times are NULL.

-- +goose Up
CREATE TABLE users (
    id                   TEXT     NOT NULL PRIMARY KEY,
    email                TEXT     NOT NULL,
    email_lower          TEXT     NOT NULL UNIQUE,
    email_verified       BOOLEAN  NOT NULL DEFAULT FALSE,
    name                 TEXT     NOT NULL DEFAULT '',
    password_hash        TEXT     NOT NULL DEFAULT '',
    disabled             BOOLEAN  NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN  NOT NULL DEFAULT FALSE,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL
);

CREATE TABLE auth_requests (
    id                    TEXT     NOT NULL PRIMARY KEY,
    client_id             TEXT     NOT NULL,
    redirect_uri          TEXT     NOT NULL,
    scopes                TEXT     NOT NULL DEFAULT '[]',
    state                 TEXT     NOT NULL DEFAULT '',
    nonce                 TEXT     NOT NULL DEFAULT '',
    response_type         TEXT     NOT NULL DEFAULT '',
    response_mode         TEXT     NOT NULL DEFAULT '',
    code_challenge        TEXT     NOT NULL DEFAULT '',
    code_challenge_method TEXT     NOT NULL DEFAULT '',
    prompt                TEXT     NOT NULL DEFAULT '[]',
    max_age_ns            BIGINT,
    login_hint            TEXT     NOT NULL DEFAULT '',
    ui_locales            TEXT     NOT NULL DEFAULT '[]',
    acr_values            TEXT     NOT NULL DEFAULT '[]',
    browser_hash          TEXT     NOT NULL DEFAULT '',
    created_at            DATETIME NOT NULL,
    expires_at            DATETIME NOT NULL,
    user_id               TEXT     NOT NULL DEFAULT '',
    session_id            TEXT     NOT NULL DEFAULT '',
    auth_time             DATETIME NOT NULL,
    amr                   TEXT     NOT NULL DEFAULT '[]',
    acr                   TEXT     NOT NULL DEFAULT '',
    completed_at          DATETIME,
    code_hash             TEXT     NOT NULL DEFAULT '',
    code_expires_at       DATETIME NOT NULL,
    code_used_at          DATETIME
);
CREATE UNIQUE INDEX auth_requests_code_hash ON auth_requests (code_hash) WHERE code_hash <> '';
CREATE INDEX auth_requests_expires_at ON auth_requests (expires_at);

CREATE TABLE access_tokens (
    id                TEXT     NOT NULL PRIMARY KEY,
    client_id         TEXT     NOT NULL,
    subject           TEXT     NOT NULL,
    user_id           TEXT     NOT NULL DEFAULT '',
    audience          TEXT     NOT NULL DEFAULT '[]',
    scopes            TEXT     NOT NULL DEFAULT '[]',
    session_id        TEXT     NOT NULL DEFAULT '',
    refresh_family_id TEXT     NOT NULL DEFAULT '',
    auth_request_id   TEXT     NOT NULL DEFAULT '',
    created_at        DATETIME NOT NULL,
    expires_at        DATETIME NOT NULL,
    revoked_at        DATETIME
);
CREATE INDEX access_tokens_session_id ON access_tokens (session_id);
CREATE INDEX access_tokens_refresh_family_id ON access_tokens (refresh_family_id);
CREATE INDEX access_tokens_auth_request_id ON access_tokens (auth_request_id);
CREATE INDEX access_tokens_user_id ON access_tokens (user_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    id                TEXT     NOT NULL PRIMARY KEY,
    token_hash        TEXT     NOT NULL UNIQUE,
    family_id         TEXT     NOT NULL,
    client_id         TEXT     NOT NULL,
    user_id           TEXT     NOT NULL DEFAULT '',
    session_id        TEXT     NOT NULL DEFAULT '',
    auth_request_id   TEXT     NOT NULL DEFAULT '',
    scopes            TEXT     NOT NULL DEFAULT '[]',
    audience          TEXT     NOT NULL DEFAULT '[]',
    amr               TEXT     NOT NULL DEFAULT '[]',
    acr               TEXT     NOT NULL DEFAULT '',
    auth_time         DATETIME NOT NULL,
    created_at        DATETIME NOT NULL,
    expires_at        DATETIME NOT NULL,
    family_expires_at DATETIME NOT NULL,
    used_at           DATETIME,
    revoked_at        DATETIME
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_auth_request_id ON refresh_tokens (auth_request_id);

CREATE TABLE sessions (
    id                  TEXT     NOT NULL PRIMARY KEY,
    token_hash          TEXT     NOT NULL UNIQUE,
    user_id             TEXT     NOT NULL,
    auth_time           DATETIME NOT NULL,
    amr                 TEXT     NOT NULL DEFAULT '[]',
    acr                 TEXT     NOT NULL DEFAULT '',
    ip                  TEXT     NOT NULL DEFAULT '',
    user_agent          TEXT     NOT NULL DEFAULT '',
    created_at          DATETIME NOT NULL,
    last_seen_at        DATETIME NOT NULL,
    idle_expires_at     DATETIME NOT NULL,
    absolute_expires_at DATETIME NOT NULL,
    ended_at            DATETIME
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE signing_keys (
    id                    TEXT     NOT NULL PRIMARY KEY,
    algorithm             TEXT     NOT NULL,
    private_key_encrypted BLOB     NOT NULL,
    public_key            BLOB     NOT NULL,
    created_at            DATETIME NOT NULL,
    activates_at          DATETIME NOT NULL,
    retires_at            DATETIME
);

CREATE TABLE audit_events (
    id        TEXT     NOT NULL PRIMARY KEY,
    time      DATETIME NOT NULL,
    type      TEXT     NOT NULL,
    user_id   TEXT     NOT NULL DEFAULT '',
    client_id TEXT     NOT NULL DEFAULT '',
    ip        TEXT     NOT NULL DEFAULT '',
    outcome   TEXT     NOT NULL DEFAULT '',
    detail    TEXT     NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_user_id ON audit_events (user_id);

CREATE TABLE counters (
    "key"        TEXT     NOT NULL PRIMARY KEY,
    "count"      INTEGER  NOT NULL,
    window_start DATETIME NOT NULL,
    "last"       DATETIME NOT NULL
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
