-- Limits are taken before the check they guard: a counter row keeps the
-- earliest time its next attempt may be taken, and when the notice about
-- reaching its limit was last mailed (one per window).

-- +goose Up
ALTER TABLE counters ADD COLUMN next_allowed_at DATETIME;
ALTER TABLE counters ADD COLUMN notice_at DATETIME;

-- +goose Down
ALTER TABLE counters DROP COLUMN notice_at;
ALTER TABLE counters DROP COLUMN next_allowed_at;
