-- Strong factors (issue 16): one authenticator app per account (its secret
-- sealed with a key derived from SEKISHO_SECRET; last_step refuses a code
-- whose time step was accepted before, on any replica), single-use
-- recovery codes (keyed hashes), and an organization's own mfa.policy.

-- +goose Up
CREATE TABLE totp_factors (
    id            TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL UNIQUE,
    secret_sealed BLOB   NOT NULL,
    confirmed_at  DATETIME,
    created_at    DATETIME NOT NULL,
    last_used_at  DATETIME,
    last_step     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE recovery_codes (
    id         TEXT NOT NULL PRIMARY KEY,
    user_id    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE UNIQUE INDEX recovery_codes_user_hash ON recovery_codes (user_id, code_hash);
ALTER TABLE organizations ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE organizations DROP COLUMN mfa_policy;
DROP TABLE recovery_codes;
DROP TABLE totp_factors;
