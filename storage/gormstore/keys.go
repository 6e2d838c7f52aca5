package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// ListSigningKeys returns every key, oldest first (by creation time, then
// id).
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	var rows []signingKeyRow
	if err := s.db.WithContext(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, wrap("list signing keys", err)
	}
	return convert(rows, signingKeyRow.signingKey), nil
}

// EnsureSigningKey holds a transaction-scoped advisory lock on PostgreSQL;
// on SQLite the single connection and BEGIN IMMEDIATE serialise callers.
// An error from generate is returned and nothing is inserted.
func (s *Store) EnsureSigningKey(ctx context.Context, now time.Time, generate func() (storage.SigningKey, error)) (bool, error) {
	inserted := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if s.driver == DriverPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", signingKeyLockID).Error; err != nil {
				return err
			}
		}
		var n int64
		err := tx.Model(&signingKeyRow{}).Where("retires_at IS NULL OR retires_at > ?", utc(now)).Count(&n).Error
		if err != nil || n > 0 {
			return err
		}
		k, err := generate()
		if err != nil {
			return err
		}
		row := toSigningKeyRow(k)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		inserted = true
		return nil
	})
	return inserted, wrap("ensure signing key", err)
}

func (s *Store) RotateSigningKey(ctx context.Context, k storage.SigningKey, retireAt time.Time) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row := toSigningKeyRow(k)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return tx.Model(&signingKeyRow{}).
			Where("retires_at IS NULL AND id <> ?", k.ID).
			Update("retires_at", utc(retireAt)).Error
	})
	return wrap("rotate signing key", err)
}
