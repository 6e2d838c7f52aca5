-- An organization's own brand (issue 15): the name and logo its pages show
-- instead of the deployment's. The logo's bytes live in the database, so
-- every replica serves it; they sit in a table of their own, so reading an
-- organization (which joins refresh tokens) never carries them.

-- +goose Up
ALTER TABLE organizations ADD COLUMN brand_name_ja TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN brand_name_en TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN logo_type TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN logo_hash TEXT NOT NULL DEFAULT '';
CREATE TABLE organization_logos (
    organization_id TEXT  NOT NULL PRIMARY KEY,
    data            BYTEA NOT NULL
);

-- +goose Down
DROP TABLE organization_logos;
ALTER TABLE organizations DROP COLUMN logo_hash;
ALTER TABLE organizations DROP COLUMN logo_type;
ALTER TABLE organizations DROP COLUMN brand_name_en;
ALTER TABLE organizations DROP COLUMN brand_name_ja;
