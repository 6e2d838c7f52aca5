-- The emailed sign-in step and the account page: users who turned the
-- step on, codes that carry a new email (verification links) or what the
-- sign-in proved so far (a forced password change), and the browsers
-- that passed the step for a user (the device cookie, as a keyed hash).

-- +goose Up
ALTER TABLE users ADD COLUMN otp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE one_time_codes ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE one_time_codes ADD COLUMN amr TEXT NOT NULL DEFAULT '[]';

CREATE TABLE devices (
    id           TEXT NOT NULL PRIMARY KEY,
    user_id      TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    otp_at       TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (token_hash, user_id)
);
CREATE INDEX devices_user ON devices (user_id);
CREATE INDEX devices_expires_at ON devices (expires_at);

-- +goose Down
DROP TABLE devices;
ALTER TABLE one_time_codes DROP COLUMN amr;
ALTER TABLE one_time_codes DROP COLUMN email;
ALTER TABLE users DROP COLUMN otp_enabled;
