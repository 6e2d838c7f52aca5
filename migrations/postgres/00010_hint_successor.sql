-- The subject of the id_token_hint an authorization request carried, so
-- prompt=none with another user's hint answers login_required; and the
-- keyed hash of the refresh token a rotation issued, so a client that
-- presents the rotated token again within the reuse window gets the same
-- successor.

-- +goose Up
ALTER TABLE auth_requests ADD COLUMN hint_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN successor_hash TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE refresh_tokens DROP COLUMN successor_hash;
ALTER TABLE auth_requests DROP COLUMN hint_user_id;
