-- Issue 11, section 6 (configuration, cookies and secrets).
--
-- mail_outbox.expires_at: a mail that carries a code or link is worth
-- sending only until the code or link expires; after that it is marked
-- 'expired' and never sent. NULL: the mail does not expire.

-- +goose Up
ALTER TABLE mail_outbox ADD COLUMN expires_at DATETIME;

-- +goose Down
ALTER TABLE mail_outbox DROP COLUMN expires_at;
