package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// counterRetention is how long a counter stays after its last increment.
const counterRetention = 24 * time.Hour

// DeleteExpired keeps what replay detection needs: an auth request stays
// until its code has expired too, and a used or revoked refresh token stays
// until it (or its family) has expired.
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
		{&sessionRow{}, "ended_at < ? OR idle_expires_at < ? OR absolute_expires_at < ?", []any{t, t, t}},
		{&counterRow{}, `"last" < ?`, []any{utc(now.Add(-counterRetention))}},
		{&signingKeyRow{}, "retires_at < ?", []any{t}},
	}
	var total int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for _, d := range deletes {
			res := tx.Where(d.where, d.args...).Delete(d.model)
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
