package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"
)

const (
	// counterRetention is how long a counter stays after its last
	// increment.
	counterRetention = 24 * time.Hour
	// deliveryRetention is how long a finished logout delivery or mail
	// stays visible to operators.
	deliveryRetention = 7 * 24 * time.Hour
)

// DeleteExpired keeps what replay detection needs: an auth request stays
// until its code has expired too, and a used or revoked refresh token stays
// until it (or its family) has expired. A session stays until it has
// ended: an expired one is ended (and announced) by EndSessions first.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	t := utc(now)
	deletes := []struct {
		model any
		where string
		args  []any
	}{
		{&authRequestRow{}, "expires_at < ? AND code_expires_at < ?", []any{t, t}},
		{&accessTokenRow{}, "expires_at < ?", []any{t}},
		{&refreshTokenRow{}, "expires_at < ? OR family_expires_at < ?", []any{t, t}},
		{"session_clients", "session_id IN (SELECT id FROM sessions WHERE ended_at < ?)", []any{t}},
		{&sessionRow{}, "ended_at < ?", []any{t}},
		{&logoutDeliveryRow{}, "finished_at < ?", []any{utc(now.Add(-deliveryRetention))}},
		{&mailRow{}, "finished_at < ?", []any{utc(now.Add(-deliveryRetention))}},
		{&codeRow{}, "expires_at < ?", []any{t}},
		{&ceremonyRow{}, "expires_at < ?", []any{t}},
		{&deviceRow{}, "expires_at < ?", []any{t}},
		{&counterRow{}, `"last" < ?`, []any{utc(now.Add(-counterRetention))}},
		{&signingKeyRow{}, "retires_at < ?", []any{t}},
	}
	var total int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for _, d := range deletes {
			var res *gorm.DB
			if table, ok := d.model.(string); ok {
				res = tx.Exec("DELETE FROM "+table+" WHERE "+d.where, d.args...)
			} else {
				res = tx.Where(d.where, d.args...).Delete(d.model)
			}
			if res.Error != nil {
				return res.Error
			}
			total += res.RowsAffected
		}
		return nil
	})
	if err != nil {
		return 0, wrap("delete expired", err)
	}
	return total, nil
}
