-- Emailed one-time codes (password reset, sign-in step): stored as keyed
-- hashes, with their expiry, wrong tries and sends.

-- +goose Up
CREATE TABLE one_time_codes (
    id              TEXT    NOT NULL PRIMARY KEY,
    purpose         TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    auth_request_id TEXT    NOT NULL DEFAULT '',
    ticket_hash     TEXT    NOT NULL UNIQUE,
    code_hash       TEXT    NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0,
    sends           INTEGER NOT NULL DEFAULT 1,
    created_at      DATETIME NOT NULL,
    sent_at         DATETIME NOT NULL,
    expires_at      DATETIME NOT NULL,
    used_at         DATETIME
);
CREATE INDEX one_time_codes_user ON one_time_codes (user_id, purpose);
CREATE INDEX one_time_codes_expires_at ON one_time_codes (expires_at);

-- +goose Down
DROP TABLE one_time_codes;
