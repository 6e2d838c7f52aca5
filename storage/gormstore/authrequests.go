package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

func (s *Store) CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error {
	row := toAuthRequestRow(a)
	return wrap("create auth request", s.db.WithContext(ctx).Create(&row).Error)
}

func (s *Store) GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error) {
	var row authRequestRow
	if err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return storage.AuthRequest{}, wrap("get auth request", err)
	}
	return row.authRequest(), nil
}

func (s *Store) GetAuthRequestByCode(ctx context.Context, codeHash string) (storage.AuthRequest, error) {
	if codeHash == "" {
		return storage.AuthRequest{}, wrap("get auth request by code", storage.ErrNotFound)
	}
	var row authRequestRow
	if err := s.db.WithContext(ctx).Take(&row, "code_hash = ?", codeHash).Error; err != nil {
		return storage.AuthRequest{}, wrap("get auth request by code", err)
	}
	return row.authRequest(), nil
}

func (s *Store) UpdateAuthRequest(ctx context.Context, id string, fn func(storage.AuthRequest) (storage.AuthRequest, error)) (storage.AuthRequest, error) {
	var out storage.AuthRequest
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row authRequestRow
		if err := s.forUpdate(tx).Take(&row, "id = ?", id).Error; err != nil {
			return err
		}
		a, err := fn(row.authRequest())
		if err != nil {
			return err
		}
		a.ID = id
		row = toAuthRequestRow(a)
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		out = row.authRequest()
		return nil
	})
	return out, wrap("update auth request", err)
}

func (s *Store) SetAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error {
	db := s.db.WithContext(ctx)
	res := db.Exec("UPDATE auth_requests SET code_hash = ?, code_expires_at = ? WHERE id = ? AND code_used_at IS NULL",
		codeHash, utc(expiresAt), id)
	return wrap("set auth code", claimed(db, res, "auth_requests", "id", id))
}

// CompleteLogin returns ErrNotFound, and changes nothing, when the auth
// request does not exist. An EndSession naming no session is ignored.
func (s *Store) CompleteLogin(ctx context.Context, c storage.LoginCompletion) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if c.ClaimCode != nil {
			if err := claimCode(tx, *c.ClaimCode, utc(c.Now)); err != nil {
				return err
			}
		}
		if c.EndSession != nil {
			if _, err := s.endSessions(tx, *c.EndSession); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		sessionID := c.SessionID
		if c.NewSession != nil {
			id, err := createOrRenewSession(tx, *c.NewSession)
			if err != nil {
				return err
			}
			if sessionID == c.NewSession.ID {
				sessionID = id
			}
		}
		res := tx.Model(&authRequestRow{}).Where("id = ?", c.AuthRequestID).Updates(map[string]any{
			"user_id":      c.UserID,
			"session_id":   sessionID,
			"auth_time":    utc(c.AuthTime),
			"amr":          stringList(c.AMR),
			"acr":          c.ACR,
			"completed_at": utc(c.Now),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return storage.ErrNotFound
		}
		if c.Interactive {
			if err := signedInByHand(tx, c.UserID, utc(c.Now), c.Unlocked); err != nil {
				return err
			}
		}
		if c.Device != nil {
			if err := saveDevice(tx, *c.Device); err != nil {
				return err
			}
		}
		return mailAndAudit(tx, c.Mail, c.Audit)
	})
	return wrap("complete login", err)
}

// signedInByHand records an interactive sign-in of the user at now: the
// last sign-in moves, and the dormant lock ends for good (its mark and
// any administrator's unlock cleared, every unused unlock link spent),
// with the unlock's audit event when the account was locked.
func signedInByHand(tx *gorm.DB, userID string, now time.Time, unlocked *storage.AuditEvent) error {
	res := tx.Model(&userRow{}).Where("id = ?", userID).
		Updates(map[string]any{"last_login_at": now, "dormant_at": nil, "unlocked_until": nil})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return storage.ErrNotFound
	}
	err := tx.Model(&codeRow{}).Where("user_id = ? AND purpose = ? AND used_at IS NULL", userID, storage.PurposeUnlock).
		Update("used_at", now).Error
	if err != nil || unlocked == nil {
		return err
	}
	return createAuditEvent(tx, *unlocked)
}
