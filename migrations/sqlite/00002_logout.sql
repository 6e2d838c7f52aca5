-- Single logout: which clients received tokens in each SSO session, and the
-- back-channel logout deliveries written when a session ends.

-- +goose Up
CREATE TABLE session_clients (
    session_id TEXT     NOT NULL,
    client_id  TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

CREATE INDEX sessions_expiry ON sessions (ended_at, idle_expires_at, absolute_expires_at);

CREATE TABLE logout_deliveries (
    id              TEXT     NOT NULL PRIMARY KEY,
    session_id      TEXT     NOT NULL,
    user_id         TEXT     NOT NULL,
    client_id       TEXT     NOT NULL,
    uri             TEXT     NOT NULL,
    reason          TEXT     NOT NULL DEFAULT '',
    status          TEXT     NOT NULL,
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    claimed_until   DATETIME,
    last_error      TEXT     NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    finished_at     DATETIME
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (status, next_attempt_at);

-- +goose Down
DROP TABLE logout_deliveries;
DROP INDEX sessions_expiry;
DROP TABLE session_clients;
