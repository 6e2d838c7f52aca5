-- The dormant-account lock (issue 13): when the sweep marked an account
-- dormant (its tokens revoked once), the end of an administrator's
-- unlock, and who receives an organization's alerts of sign-in attempts
-- on locked accounts. The sweep looks for unmarked accounts by their
-- idle period; the alert recipients of an organization are few.

-- +goose Up
ALTER TABLE users ADD COLUMN dormant_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN unlocked_until TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN dormant_alerts BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX users_dormant_alerts ON users (organization_id) WHERE dormant_alerts;

-- +goose Down
DROP INDEX users_dormant_alerts;
ALTER TABLE users DROP COLUMN dormant_alerts;
ALTER TABLE users DROP COLUMN unlocked_until;
ALTER TABLE users DROP COLUMN dormant_at;
