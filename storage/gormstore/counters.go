package gormstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// errRefused rolls back a transaction whose limit refused the attempt:
// nothing it wrote (counter rows it created) stays.
var errRefused = errors.New("gormstore: attempt refused")

// takeCounter counts one attempt on a counter in one statement: it
// creates the row with the attempt counted when it is missing, else counts
// it there when the counter allows an attempt at now (next_allowed_at has
// come), starting a new window when the old one is over (count 0, or
// window_start before the cutoff), and returns the row as it is after. A
// refused attempt returns no row and changes nothing. On PostgreSQL the
// conflicting row is locked even when the WHERE refuses it, and a row
// deleted meanwhile (ResetCounters, the expiry sweep) is inserted again.
// Arguments: key, now, now, cutoff, cutoff, now, now, now.
const takeCounter = `INSERT INTO counters ("key", "count", window_start, "last") VALUES (?, 1, ?, ?)
ON CONFLICT ("key") DO UPDATE SET
	"count" = CASE WHEN counters."count" = 0 OR counters.window_start < ? THEN 1 ELSE counters."count" + 1 END,
	window_start = CASE WHEN counters."count" = 0 OR counters.window_start < ? THEN ? ELSE counters.window_start END,
	"last" = ?, next_allowed_at = NULL
WHERE counters.next_allowed_at IS NULL OR counters.next_allowed_at <= ?
RETURNING "key", "count", window_start, "last", next_allowed_at, notice_at`

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

// takeAttempt counts the attempt on every key in key order, one
// statement each (takeCounter), so concurrent takers on any replica queue
// on the row locks and overlapping key sets cannot deadlock (SQLite's
// transaction already holds the write lock); a key whose rule now delays
// the next attempt gets its next_allowed_at in a second statement. It
// returns the counters as they are after. At the first key that refuses
// it stops and reports false with that counter as it is, and the caller
// rolls the transaction back, so the keys counted before it are not.
func (s *Store) takeAttempt(tx *gorm.DB, now time.Time, limits []storage.Limit) (bool, map[string]counterRow, error) {
	limits = slices.Clone(limits)
	slices.SortStableFunc(limits, func(a, b storage.Limit) int { return strings.Compare(a.Key, b.Key) })
	limits = slices.CompactFunc(limits, func(a, b storage.Limit) bool { return a.Key == b.Key })
	rows := make(map[string]counterRow, len(limits))
	for _, l := range limits {
		cutoff := utc(now.Add(-l.Window))
		var got []counterRow
		if err := tx.Raw(takeCounter, l.Key, now, now, cutoff, cutoff, now, now, now).Scan(&got).Error; err != nil {
			return false, rows, err
		}
		if len(got) == 0 {
			var r counterRow
			if err := tx.Take(&r, `"key" = ?`, l.Key).Error; err != nil {
				return false, rows, err
			}
			rows[l.Key] = r
			return false, rows, nil
		}
		r := got[0]
		if next, ok := l.NextAllowed(r.Count, now, r.WindowStart); ok {
			next = utc(next)
			r.NextAllowedAt = &next
			if err := tx.Model(&counterRow{}).Where(`"key" = ?`, l.Key).Update("next_allowed_at", next).Error; err != nil {
				return false, rows, err
			}
		}
		rows[l.Key] = r
	}
	return true, rows, nil
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
