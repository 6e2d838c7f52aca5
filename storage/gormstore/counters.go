package gormstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// errRefused rolls back a transaction whose limit refused the attempt:
// nothing it wrote (counter rows it created) stays.
var errRefused = errors.New("gormstore: attempt refused")

// createCounter makes sure a counter row exists, so it can be locked: an
// empty one (no attempt counted yet) when it is new.
const createCounter = `INSERT INTO counters ("key", "count", window_start, "last") VALUES (?, 0, ?, ?)
ON CONFLICT ("key") DO NOTHING`

// TakeAttempt takes the attempt in one transaction (see takeAttempt).
func (s *Store) TakeAttempt(ctx context.Context, now time.Time, limits ...storage.Limit) (bool, error) {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		taken, _, err := s.takeAttempt(tx, utc(now), limits)
		if err == nil && !taken {
			return errRefused
		}
		return err
	})
	if errors.Is(err, errRefused) {
		return false, nil
	}
	return err == nil, wrap("take attempt", err)
}

// takeAttempt creates the missing counter rows and locks them all in key
// order (FOR UPDATE on PostgreSQL, so concurrent takers on any replica
// queue, and overlapping key sets cannot deadlock; SQLite's transaction
// already holds the write lock), then counts the attempt on every key
// when each allows it at now. It returns the counters as they are after.
// When it reports false the caller rolls the transaction back.
func (s *Store) takeAttempt(tx *gorm.DB, now time.Time, limits []storage.Limit) (bool, map[string]counterRow, error) {
	limits = slices.Clone(limits)
	slices.SortStableFunc(limits, func(a, b storage.Limit) int { return strings.Compare(a.Key, b.Key) })
	limits = slices.CompactFunc(limits, func(a, b storage.Limit) bool { return a.Key == b.Key })
	rows := make(map[string]counterRow, len(limits))
	for _, l := range limits {
		r, err := s.lockCounter(tx, l.Key, now)
		if err != nil {
			return false, rows, err
		}
		rows[l.Key] = r
	}
	for _, l := range limits {
		if r := rows[l.Key]; r.NextAllowedAt != nil && now.Before(*r.NextAllowedAt) {
			return false, rows, nil
		}
	}
	for _, l := range limits {
		r := rows[l.Key]
		if r.Count == 0 || r.WindowStart.Before(now.Add(-l.Window)) {
			r.Count, r.WindowStart = 0, now
		}
		r.Count++
		r.Last, r.NextAllowedAt = now, nil
		if next, ok := l.NextAllowed(r.Count, now, r.WindowStart); ok {
			next = utc(next)
			r.NextAllowedAt = &next
		}
		err := tx.Model(&counterRow{}).Where(`"key" = ?`, r.Key).Updates(map[string]any{
			"count": r.Count, "window_start": utc(r.WindowStart), "last": r.Last, "next_allowed_at": r.NextAllowedAt,
		}).Error
		if err != nil {
			return false, rows, err
		}
		rows[l.Key] = r
	}
	return true, rows, nil
}

// lockCounterTries bounds lockCounter's attempts.
const lockCounterTries = 20

// lockCounter creates the counter row when it is missing and locks it.
// Keys go one at a time, each created and locked before the next: with
// the missing rows of all keys created first (one INSERT instead of one
// per key), a taker holding a lower key's lock that re-created a vanished
// higher key waited for the taker that had just created it, itself
// waiting for the lower lock, and PostgreSQL found deadlocks under 50
// sign-ins at once (TestConcurrentLimitsTwoReplicas).
// A row can vanish between the two (ResetCounters, the expiry sweep):
// then it is created again. Many right passwords of one account at once
// each reset its counter, so a taker may lose the row several times in a
// row (seen with 40 at once on PostgreSQL).
func (s *Store) lockCounter(tx *gorm.DB, key string, now time.Time) (counterRow, error) {
	for range lockCounterTries {
		if err := tx.Exec(createCounter, key, now, now).Error; err != nil {
			return counterRow{}, err
		}
		var rows []counterRow
		if err := s.forUpdate(tx).Where(`"key" = ?`, key).Limit(1).Find(&rows).Error; err != nil {
			return counterRow{}, err
		}
		if len(rows) == 1 {
			return rows[0], nil
		}
	}
	return counterRow{}, fmt.Errorf("counter %q vanished while it was being locked", key)
}

// ReturnAttempt is one UPDATE: the count never goes below zero.
func (s *Store) ReturnAttempt(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&counterRow{}).Where(map[string]any{"key": keys}).Updates(map[string]any{
		"count":           gorm.Expr(`CASE WHEN "count" > 0 THEN "count" - 1 ELSE 0 END`),
		"next_allowed_at": nil,
	}).Error
	return wrap("return attempt", err)
}

// NoticeAtLimit marks the counter with one conditional UPDATE, so of
// concurrent callers exactly one writes the mail.
func (s *Store) NoticeAtLimit(ctx context.Context, l storage.Limit, now time.Time, m storage.OutboxMail) (bool, error) {
	t := utc(now)
	wrote := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&counterRow{}).
			Where(`"key" = ? AND "count" >= ? AND window_start >= ? AND (notice_at IS NULL OR notice_at < window_start)`,
				l.Key, l.Free, utc(now.Add(-l.Window))).
			Update("notice_at", t)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		wrote = true
		return enqueueMail(tx, m)
	})
	if err != nil {
		return false, wrap("notice at limit", err)
	}
	return wrote, nil
}

func (s *Store) GetCounters(ctx context.Context, keys []string) (map[string]storage.Counter, error) {
	out := make(map[string]storage.Counter, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var rows []counterRow
	if err := s.db.WithContext(ctx).Where(map[string]any{"key": keys}).Find(&rows).Error; err != nil {
		return nil, wrap("get counters", err)
	}
	for _, r := range rows {
		out[r.Key] = r.counter()
	}
	return out, nil
}

func (s *Store) ResetCounters(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return wrap("reset counters", s.db.WithContext(ctx).Where(map[string]any{"key": keys}).Delete(&counterRow{}).Error)
}
