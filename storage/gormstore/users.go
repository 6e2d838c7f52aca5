package gormstore

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

// normalizeEmail is the case-insensitive form of an email, compared in
// email_lower (SQLite and PostgreSQL collations fold case differently).
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	row := toUserRow(u)
	return wrap("create user", s.db.WithContext(ctx).Create(&row).Error)
}

func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	var row userRow
	if err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return storage.User{}, wrap("get user", err)
	}
	return row.user(), nil
}

func (s *Store) GetUserByEmail(ctx context.Context, email string) (storage.User, error) {
	var row userRow
	if err := s.db.WithContext(ctx).Take(&row, "email_lower = ?", normalizeEmail(email)).Error; err != nil {
		return storage.User{}, wrap("get user by email", err)
	}
	return row.user(), nil
}

// ListUsers returns every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, wrap("list users", err)
	}
	return convert(rows, userRow.user), nil
}

func (s *Store) UpdateUser(ctx context.Context, id string, fn func(storage.User) (storage.User, error)) (storage.User, error) {
	var out storage.User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row userRow
		if err := s.forUpdate(tx).Take(&row, "id = ?", id).Error; err != nil {
			return err
		}
		u, err := fn(row.user())
		if err != nil {
			return err
		}
		u.ID = id
		row = toUserRow(u)
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		out = row.user()
		return nil
	})
	return out, wrap("update user", err)
}

// DeleteUser removes the user and revokes their tokens; sessions still
// open end without deliveries (callers end them first with EndSessions).
// Audit events stay.
func (s *Store) DeleteUser(ctx context.Context, id string, now time.Time) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&userRow{}, "id = ?", id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return storage.ErrNotFound
		}
		_, err := s.endSessions(tx, storage.SessionEnd{UserID: id, Now: now, Reason: storage.EndDeleted, RevokeAllTokens: true})
		return err
	})
	return wrap("delete user", err)
}

// convert maps rows to domain values.
func convert[R, T any](rows []R, f func(R) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}
