-- The operator's and the console's member lists on large organizations
-- (issue 12, the 50,000-member figures).
--
-- users_org_list replaces users_org_created (organization_id, created_at,
-- id): the same order, plus the columns a search matches (name,
-- account name, address), so that counting a search and finding a
-- page's ids read the index alone. users_created orders the operator's
-- list across organizations. users_email_key_missing holds the accounts
-- whose address lacks its deployment-wide key (written in an organization
-- scope): the email mode's start finds none there at once, instead of
-- reading every account.

-- +goose Up
CREATE INDEX users_org_list ON users (organization_id, created_at, id, name, username_key, email_lower);
DROP INDEX users_org_created;
CREATE INDEX users_created ON users (created_at, id);
CREATE INDEX users_email_key_missing ON users (id) WHERE email_lower <> '' AND email_unique IS NULL;

-- +goose Down
DROP INDEX users_email_key_missing;
DROP INDEX users_created;
CREATE INDEX users_org_created ON users (organization_id, created_at, id);
DROP INDEX users_org_list;
