-- Passkeys (issue 16): WebAuthn credentials, the user handle each account
-- shows authenticators, and the ceremonies (challenges) in flight.
--
-- passkey_users: the WebAuthn user handle of an account, a random value
-- made on first use (never the email or the account id), so an
-- authenticator's discoverable credential names the account without
-- revealing anything about it.
--
-- passkeys: one row per registered credential. sign_count is the
-- authenticator's counter, moved forward only by a conditional UPDATE that
-- refuses a counter not greater than the stored one (a cloned
-- authenticator); backup_eligible never changes for a credential.
--
-- webauthn_ceremonies: the session data of a registration or assertion
-- between its two requests, so any replica can finish it. The browser
-- holds a random token; only its keyed hash is stored. A ceremony is used
-- once (used_at set by one conditional UPDATE) within its few minutes.
-- Rows of a deleted account go with it.

-- +goose Up
CREATE TABLE passkey_users (
    user_id    TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle     BLOB NOT NULL UNIQUE,
    created_at DATETIME NOT NULL
);
CREATE TABLE passkeys (
    id              TEXT NOT NULL PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    credential_id   BLOB NOT NULL UNIQUE,
    public_key      BLOB NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    aaguid          BLOB NOT NULL,
    transports      TEXT NOT NULL DEFAULT '[]',
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state    BOOLEAN NOT NULL DEFAULT FALSE,
    attachment      TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    last_used_at    DATETIME
);
CREATE INDEX passkeys_user ON passkeys (user_id);
CREATE TABLE webauthn_ceremonies (
    id              TEXT NOT NULL PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL DEFAULT '',
    purpose         TEXT NOT NULL,
    session_data    TEXT NOT NULL,
    auth_request_id TEXT NOT NULL DEFAULT '',
    browser_hash    TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    expires_at      DATETIME NOT NULL,
    used_at         DATETIME
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP TABLE passkeys;
DROP TABLE passkey_users;
