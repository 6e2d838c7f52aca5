-- Organizations and their members (issue 12). See the PostgreSQL file
-- for what the columns mean. SQLite cannot drop the inline UNIQUE of
-- users.email_lower, so the table is rebuilt (no other table refers to
-- it).

-- +goose Up
CREATE TABLE organizations (
    id          TEXT     NOT NULL PRIMARY KEY,
    code        TEXT     NOT NULL,
    code_key    TEXT     NOT NULL UNIQUE,
    name        TEXT     NOT NULL DEFAULT '',
    time_zone   TEXT     NOT NULL DEFAULT 'Asia/Tokyo',
    max_members INTEGER  NOT NULL DEFAULT 0,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
INSERT INTO organizations (id, code, code_key, name, time_zone, max_members, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-000000000001', 'default', 'default', 'Default', 'Asia/Tokyo', 0,
        strftime('%Y-%m-%d %H:%M:%S+00:00', 'now'), strftime('%Y-%m-%d %H:%M:%S+00:00', 'now'));

CREATE TABLE users_new (
    id                   TEXT     NOT NULL PRIMARY KEY,
    organization_id      TEXT     NOT NULL,
    email                TEXT     NOT NULL,
    email_lower          TEXT     NOT NULL,
    email_unique         TEXT,
    email_verified       BOOLEAN  NOT NULL DEFAULT FALSE,
    username             TEXT     NOT NULL DEFAULT '',
    username_key         TEXT     NOT NULL DEFAULT '',
    name                 TEXT     NOT NULL DEFAULT '',
    password_hash        TEXT     NOT NULL DEFAULT '',
    disabled             BOOLEAN  NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN  NOT NULL DEFAULT FALSE,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    otp_enabled          BOOLEAN  NOT NULL DEFAULT FALSE,
    legacy_id            TEXT,
    legacy_hash          TEXT     NOT NULL DEFAULT '',
    migrated_at          DATETIME,
    roles                TEXT     NOT NULL DEFAULT '[]',
    lang                 TEXT     NOT NULL DEFAULT '',
    role                 TEXT     NOT NULL DEFAULT '',
    last_login_at        DATETIME,
    invited_at           DATETIME,
    platform_admin       BOOLEAN  NOT NULL DEFAULT FALSE
);
INSERT INTO users_new (id, organization_id, email, email_lower, email_unique, email_verified, name, password_hash,
    disabled, must_change_password, created_at, updated_at, otp_enabled, legacy_id, legacy_hash, migrated_at, roles, lang)
SELECT id, '00000000-0000-4000-8000-000000000001', email, email_lower, NULLIF(email_lower, ''), email_verified, name,
    password_hash, disabled, must_change_password, created_at, updated_at, otp_enabled, legacy_id, legacy_hash,
    migrated_at, roles, lang
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE UNIQUE INDEX users_legacy_id ON users (legacy_id);
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
CREATE TABLE users_old (
    id                   TEXT     NOT NULL PRIMARY KEY,
    email                TEXT     NOT NULL,
    email_lower          TEXT     NOT NULL UNIQUE,
    email_verified       BOOLEAN  NOT NULL DEFAULT FALSE,
    name                 TEXT     NOT NULL DEFAULT '',
    password_hash        TEXT     NOT NULL DEFAULT '',
    disabled             BOOLEAN  NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN  NOT NULL DEFAULT FALSE,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    otp_enabled          BOOLEAN  NOT NULL DEFAULT FALSE,
    legacy_id            TEXT,
    legacy_hash          TEXT     NOT NULL DEFAULT '',
    migrated_at          DATETIME,
    roles                TEXT     NOT NULL DEFAULT '[]',
    lang                 TEXT     NOT NULL DEFAULT ''
);
INSERT INTO users_old SELECT id, email, email_lower, email_verified, name, password_hash, disabled,
    must_change_password, created_at, updated_at, otp_enabled, legacy_id, legacy_hash, migrated_at, roles, lang FROM users;
DROP TABLE users;
ALTER TABLE users_old RENAME TO users;
CREATE UNIQUE INDEX users_legacy_id ON users (legacy_id);
DROP TABLE organizations;
