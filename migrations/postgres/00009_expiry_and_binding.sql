-- Issue 11, section 6 (configuration, cookies and secrets).
--
-- mail_outbox.expires_at: a mail that carries a code or link is worth
-- sending only until the code or link expires; after that it is marked
-- 'expired' and never sent. NULL: the mail does not expire.
--
-- sessions.old_cookie_name: under https the session cookie is now named
-- __Host-sekisho_session. Sessions that exist at this upgrade may still
-- be presented as sekisho_session (and are then moved to the new name);
-- sessions begun after it never are, so the old name stops working one
-- session.absolute after the upgrade.
--
-- one_time_codes.browser_hash: the steps after the password (emailed
-- code, forced change) and the reset steps are bound to the browser that
-- started them, by the keyed hash of its step cookie. Steps started
-- before this upgrade have none and end (the user signs in again).

-- +goose Up
ALTER TABLE mail_outbox ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN old_cookie_name BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE sessions SET old_cookie_name = TRUE WHERE ended_at IS NULL;
ALTER TABLE one_time_codes ADD COLUMN browser_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE one_time_codes DROP COLUMN browser_hash;
ALTER TABLE sessions DROP COLUMN old_cookie_name;
ALTER TABLE mail_outbox DROP COLUMN expires_at;
