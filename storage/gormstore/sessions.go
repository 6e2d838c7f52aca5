package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

func (s *Store) CreateSession(ctx context.Context, sess storage.Session) error {
	row := toSessionRow(sess)
	return wrap("create session", s.db.WithContext(ctx).Create(&row).Error)
}

func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var row sessionRow
	if err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return storage.Session{}, wrap("get session", err)
	}
	return row.session(), nil
}

func (s *Store) GetSessionByTokenHash(ctx context.Context, tokenHash string) (storage.Session, error) {
	var row sessionRow
	if err := s.db.WithContext(ctx).Take(&row, "token_hash = ?", tokenHash).Error; err != nil {
		return storage.Session{}, wrap("get session by token hash", err)
	}
	return row.session(), nil
}

func (s *Store) TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error {
	res := s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", id).Updates(map[string]any{
		"last_seen_at":    utc(now),
		"idle_expires_at": utc(idleExpiresAt),
	})
	if res.Error == nil && res.RowsAffected == 0 {
		res.Error = storage.ErrNotFound
	}
	return wrap("touch session", res.Error)
}

// EndSession keeps the first end time of a session ended before (and
// revokes its tokens again); ErrNotFound when there is no such session.
func (s *Store) EndSession(ctx context.Context, id string, now time.Time) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		found, err := endSession(tx, id, now)
		if err == nil && !found {
			err = storage.ErrNotFound
		}
		return err
	})
	return wrap("end session", err)
}

// endSession ends one session and revokes the tokens issued in it. It
// reports whether the session exists.
func endSession(tx *gorm.DB, id string, now time.Time) (bool, error) {
	res := tx.Model(&sessionRow{}).Where("id = ? AND ended_at IS NULL", id).Update("ended_at", utc(now))
	if res.Error != nil {
		return false, res.Error
	}
	found := res.RowsAffected > 0
	if !found {
		var err error
		if found, err = exists(tx, "sessions", "id", id); err != nil || !found {
			return false, err
		}
	}
	for _, table := range []string{"access_tokens", "refresh_tokens"} {
		if err := revoke(tx, now, table, "session_id = ?", id).Error; err != nil {
			return false, err
		}
	}
	return true, nil
}

// EndUserSessions counts the sessions that were active at now.
func (s *Store) EndUserSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		n, err = endUserSessions(tx, userID, now)
		return err
	})
	return int(n), wrap("end user sessions", err)
}

// endUserSessions ends the user's active sessions and revokes every token
// the user holds. It reports how many sessions it ended.
func endUserSessions(tx *gorm.DB, userID string, now time.Time) (int64, error) {
	t := utc(now)
	res := tx.Model(&sessionRow{}).
		Where("user_id = ? AND ended_at IS NULL AND idle_expires_at > ? AND absolute_expires_at > ?", userID, t, t).
		Update("ended_at", t)
	if res.Error != nil {
		return 0, res.Error
	}
	for _, table := range []string{"access_tokens", "refresh_tokens"} {
		if err := revoke(tx, now, table, "user_id = ?", userID).Error; err != nil {
			return 0, err
		}
	}
	return res.RowsAffected, nil
}

// ListUserSessions returns every session of the user, ended and expired
// ones included (callers check Active), oldest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]storage.Session, error) {
	var rows []sessionRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, wrap("list user sessions", err)
	}
	return convert(rows, sessionRow.session), nil
}
