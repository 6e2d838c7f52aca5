-- Users imported from a legacy product: their id there (unique), the
-- product's password hash until they migrate, when they migrated, and
-- their roles.

-- +goose Up
ALTER TABLE users ADD COLUMN legacy_id TEXT;
ALTER TABLE users ADD COLUMN legacy_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN migrated_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
CREATE UNIQUE INDEX users_legacy_id ON users (legacy_id);
-- The ACR a sign-in step keeps (a legacy sign-in passing the emailed code).
ALTER TABLE one_time_codes ADD COLUMN acr TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE one_time_codes DROP COLUMN acr;
DROP INDEX users_legacy_id;
ALTER TABLE users DROP COLUMN roles;
ALTER TABLE users DROP COLUMN migrated_at;
ALTER TABLE users DROP COLUMN legacy_hash;
ALTER TABLE users DROP COLUMN legacy_id;
