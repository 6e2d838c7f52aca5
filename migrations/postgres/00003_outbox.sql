-- The mail outbox: messages written in the same transaction as the change
-- that needs them (a code, a link), sent by any replica's worker. The body
-- is encrypted by the application and dropped once sent.

-- +goose Up
CREATE TABLE mail_outbox (
    id              TEXT NOT NULL PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    template        TEXT NOT NULL DEFAULT '',
    body            BYTEA,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

-- +goose Down
DROP TABLE mail_outbox;
