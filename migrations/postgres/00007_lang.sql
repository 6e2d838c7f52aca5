-- The language of mails sent to a user without a browser request (a
-- reminder to migrate): a BCP 47 tag, or empty.

-- +goose Up
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN lang;
