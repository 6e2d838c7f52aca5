-- The administration console (issue 12): its audit page filters an
-- organization's events by member, which matches the events about the
-- member (user_id, indexed since 00001) and those the member caused as an
-- administrator (actor_id).

-- +goose Up
CREATE INDEX audit_events_actor ON audit_events (actor_id, time) WHERE actor_id <> '';

-- +goose Down
DROP INDEX audit_events_actor;
