package gormstore

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// incrementCounter is one upsert, atomic on both databases: a counter
// whose window started before the cutoff (the fourth and fifth
// parameters) starts again at one.
const incrementCounter = `INSERT INTO counters ("key", "count", window_start, "last") VALUES (?, 1, ?, ?)
ON CONFLICT ("key") DO UPDATE SET
	"count" = CASE WHEN counters.window_start < ? THEN 1 ELSE counters."count" + 1 END,
	window_start = CASE WHEN counters.window_start < ? THEN excluded.window_start ELSE counters.window_start END,
	"last" = excluded."last"`

// IncrementCounters updates the keys in sorted order, so concurrent calls
// with overlapping keys cannot deadlock. A key given twice counts once.
func (s *Store) IncrementCounters(ctx context.Context, keys []string, now time.Time, window time.Duration) error {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	t, cutoff := utc(now), utc(now.Add(-window))
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for _, k := range keys {
			if err := tx.Exec(incrementCounter, k, t, t, cutoff, cutoff).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("increment counters", err)
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
