-- Machine (client-credentials) tokens have no session, family, auth
-- request or user: they write '' into those columns, and full indexes on
-- them grew ever larger groups of '' that every new token had to update.
-- The indexes now skip '' (queries that use them say "col <> ''" too, so
-- both planners can use a partial index with a bound parameter).

-- +goose Up
DROP INDEX access_tokens_session_id;
DROP INDEX access_tokens_refresh_family_id;
DROP INDEX access_tokens_auth_request_id;
DROP INDEX access_tokens_user_id;
CREATE INDEX access_tokens_session_id ON access_tokens (session_id) WHERE session_id <> '';
CREATE INDEX access_tokens_refresh_family_id ON access_tokens (refresh_family_id) WHERE refresh_family_id <> '';
CREATE INDEX access_tokens_auth_request_id ON access_tokens (auth_request_id) WHERE auth_request_id <> '';
CREATE INDEX access_tokens_user_id ON access_tokens (user_id) WHERE user_id <> '';

-- +goose Down
DROP INDEX access_tokens_session_id;
DROP INDEX access_tokens_refresh_family_id;
DROP INDEX access_tokens_auth_request_id;
DROP INDEX access_tokens_user_id;
CREATE INDEX access_tokens_session_id ON access_tokens (session_id);
CREATE INDEX access_tokens_refresh_family_id ON access_tokens (refresh_family_id);
CREATE INDEX access_tokens_auth_request_id ON access_tokens (auth_request_id);
CREATE INDEX access_tokens_user_id ON access_tokens (user_id);
