-- Organizations and their members (issue 12).
--
-- Every account belongs to one organization. Existing accounts move into
-- the organization "default" (a fixed id), so a deployment that never
-- creates another one looks as before.
--
-- Uniqueness: an address is unique within its organization
-- ((organization_id, email_lower), skipping accounts without one), and
-- an account name too. In the "email" sign-in mode an address is unique
-- across the deployment as well: email_unique holds the address's key
-- then (NULL in the organization modes), under a unique index; the
-- server fills or clears it at start for the configured mode.
--
-- A member's role (one, of the roles the configuration declares) is a
-- column of its own; the legacy product's roles stay in users.roles.

-- +goose Up
CREATE TABLE organizations (
    id          TEXT        NOT NULL PRIMARY KEY,
    code        TEXT        NOT NULL,
    code_key    TEXT        NOT NULL UNIQUE,
    name        TEXT        NOT NULL DEFAULT '',
    time_zone   TEXT        NOT NULL DEFAULT 'Asia/Tokyo',
    max_members INTEGER     NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
INSERT INTO organizations (id, code, code_key, name, time_zone, max_members, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-000000000001', 'default', 'default', 'Default', 'Asia/Tokyo', 0, NOW(), NOW());

ALTER TABLE users DROP CONSTRAINT users_email_lower_key;
ALTER TABLE users ADD COLUMN organization_id TEXT NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001';
ALTER TABLE users ALTER COLUMN organization_id DROP DEFAULT;
ALTER TABLE users ADD COLUMN username TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN email_unique TEXT;
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN invited_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN platform_admin BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET email_unique = email_lower WHERE email_lower <> '';
CREATE UNIQUE INDEX users_org_email ON users (organization_id, email_lower) WHERE email_lower <> '';
CREATE UNIQUE INDEX users_org_username ON users (organization_id, username_key) WHERE username_key <> '';
CREATE UNIQUE INDEX users_email_unique ON users (email_unique);
CREATE INDEX users_org_created ON users (organization_id, created_at, id);

ALTER TABLE auth_requests ADD COLUMN organization TEXT NOT NULL DEFAULT '';

ALTER TABLE audit_events ADD COLUMN organization_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN actor_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_org_time ON audit_events (organization_id, time) WHERE organization_id <> '';

-- +goose Down
DROP INDEX audit_events_org_time;
ALTER TABLE audit_events DROP COLUMN actor_id;
ALTER TABLE audit_events DROP COLUMN organization_id;
ALTER TABLE auth_requests DROP COLUMN organization;
DROP INDEX users_org_created;
DROP INDEX users_email_unique;
DROP INDEX users_org_username;
DROP INDEX users_org_email;
ALTER TABLE users DROP COLUMN platform_admin;
ALTER TABLE users DROP COLUMN invited_at;
ALTER TABLE users DROP COLUMN last_login_at;
ALTER TABLE users DROP COLUMN role;
ALTER TABLE users DROP COLUMN email_unique;
ALTER TABLE users DROP COLUMN username_key;
ALTER TABLE users DROP COLUMN username;
ALTER TABLE users DROP COLUMN organization_id;
ALTER TABLE users ADD CONSTRAINT users_email_lower_key UNIQUE (email_lower);
DROP TABLE organizations;
