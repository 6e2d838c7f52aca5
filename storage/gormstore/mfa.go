package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

type totpRow struct {
	ID           string `gorm:"primaryKey"`
	UserID       string
	SecretSealed []byte
	ConfirmedAt  *time.Time
	CreatedAt    time.Time `gorm:"autoCreateTime:false"`
	LastUsedAt   *time.Time
	LastStep     int64
}

func (totpRow) TableName() string { return "totp_factors" }

func (r totpRow) factor() storage.TOTPFactor {
	return storage.TOTPFactor{ID: r.ID, UserID: r.UserID, SecretSealed: r.SecretSealed, ConfirmedAt: fromDBPtr(r.ConfirmedAt),
		CreatedAt: fromDB(r.CreatedAt), LastUsedAt: fromDBPtr(r.LastUsedAt), LastStep: r.LastStep}
}

type recoveryCodeRow struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	CodeHash  string
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	UsedAt    *time.Time
}

func (recoveryCodeRow) TableName() string { return "recovery_codes" }

// confirmedTOTP is the condition of a user's factor that accepts a code
// of a step (one after the last accepted).
const confirmedTOTP = "user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?"

func (s *Store) CreateTOTP(ctx context.Context, f storage.TOTPFactor) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Delete(&totpRow{}, "user_id = ? AND confirmed_at IS NULL", f.UserID).Error; err != nil {
			return err
		}
		row := totpRow{ID: f.ID, UserID: f.UserID, SecretSealed: f.SecretSealed, ConfirmedAt: utcPtr(f.ConfirmedAt),
			CreatedAt: utc(f.CreatedAt), LastUsedAt: utcPtr(f.LastUsedAt), LastStep: f.LastStep}
		return tx.Create(&row).Error
	})
	return wrap("create totp", err)
}

func (s *Store) GetTOTP(ctx context.Context, userID string) (storage.TOTPFactor, error) {
	var row totpRow
	if err := s.db.WithContext(ctx).Take(&row, "user_id = ?", userID).Error; err != nil {
		return storage.TOTPFactor{}, wrap("get totp", err)
	}
	return row.factor(), nil
}

func (s *Store) ConfirmTOTP(ctx context.Context, id string, step int64, c storage.FactorChange) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(c.Now)
		res := tx.Model(&totpRow{}).Where("id = ? AND user_id = ? AND confirmed_at IS NULL AND last_step < ?", id, c.UserID, step).
			Updates(map[string]any{"confirmed_at": now, "last_used_at": now, "last_step": step})
		if err := claimed(tx, res, "totp_factors", "id", id); err != nil {
			return err
		}
		return applyFactorChange(tx, c)
	})
	return wrap("confirm totp", err)
}

func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64, now time.Time) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&totpRow{}).Where(confirmedTOTP, userID, step).
			Updates(map[string]any{"last_used_at": utc(now), "last_step": step})
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		var n int64
		if err := tx.Model(&totpRow{}).Where("user_id = ? AND confirmed_at IS NOT NULL", userID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return storage.ErrNotFound
		}
		return storage.ErrAlreadyUsed
	})
	return wrap("use totp step", err)
}

func (s *Store) DeleteTOTP(ctx context.Context, c storage.FactorChange) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Delete(&totpRow{}, "user_id = ?", c.UserID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return storage.ErrNotFound
		}
		return applyFactorChange(tx, c)
	})
	return wrap("delete totp", err)
}

func (s *Store) ReplaceRecoveryCodes(ctx context.Context, c storage.FactorChange) error {
	if c.RecoveryCodes == nil {
		c.RecoveryCodes = []storage.RecoveryCode{}
	}
	return wrap("replace recovery codes", s.tx(ctx, func(tx *gorm.DB) error { return applyFactorChange(tx, c) }))
}

func (s *Store) UseRecoveryCode(ctx context.Context, codeHash string, c storage.FactorChange) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&recoveryCodeRow{}).Where("user_id = ? AND code_hash = ? AND used_at IS NULL", c.UserID, codeHash).
			Update("used_at", utc(c.Now))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&recoveryCodeRow{}).Where("user_id = ? AND code_hash = ?", c.UserID, codeHash).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return storage.ErrNotFound
			}
			return storage.ErrAlreadyUsed
		}
		return applyFactorChange(tx, c)
	})
	return wrap("use recovery code", err)
}

func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&recoveryCodeRow{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return int(n), wrap("count recovery codes", err)
}

// factorsRow is a row of GetFactors: the app's columns are NULL when the
// user has none.
type factorsRow struct {
	ID            *string
	SecretSealed  []byte
	ConfirmedAt   *time.Time
	CreatedAt     *time.Time
	LastUsedAt    *time.Time
	LastStep      *int64
	Passkeys      int64
	RecoveryCodes int64
}

func (s *Store) GetFactors(ctx context.Context, userID string) (storage.UserFactors, error) {
	var row factorsRow
	err := s.db.WithContext(ctx).Raw(`SELECT t.id, t.secret_sealed, t.confirmed_at, t.created_at, t.last_used_at, t.last_step,
		(SELECT count(*) FROM passkeys WHERE user_id = ?) AS passkeys,
		(SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL) AS recovery_codes
		FROM (SELECT 1 AS one) AS one LEFT JOIN totp_factors t ON t.user_id = ?`, userID, userID, userID).Scan(&row).Error
	if err != nil {
		return storage.UserFactors{}, wrap("get factors", err)
	}
	out := storage.UserFactors{Passkeys: int(row.Passkeys), RecoveryCodes: int(row.RecoveryCodes)}
	if row.ID != nil && row.CreatedAt != nil && row.LastStep != nil {
		t := totpRow{ID: *row.ID, UserID: userID, SecretSealed: row.SecretSealed, ConfirmedAt: row.ConfirmedAt,
			CreatedAt: *row.CreatedAt, LastUsedAt: row.LastUsedAt, LastStep: *row.LastStep}.factor()
		out.TOTP = &t
	}
	return out, nil
}

// applyFactorChange writes what goes with a change of strong factors:
// the new set of recovery codes (or none), the mail and the audit event.
func applyFactorChange(tx *gorm.DB, c storage.FactorChange) error {
	if c.RecoveryCodes != nil || c.DropRecoveryCodes {
		if err := tx.Delete(&recoveryCodeRow{}, "user_id = ?", c.UserID).Error; err != nil {
			return err
		}
	}
	if len(c.RecoveryCodes) > 0 {
		rows := make([]recoveryCodeRow, len(c.RecoveryCodes))
		for i, rc := range c.RecoveryCodes {
			rows[i] = recoveryCodeRow{ID: rc.ID, UserID: c.UserID, CodeHash: rc.CodeHash, CreatedAt: utc(c.Now)}
		}
		if err := tx.Create(&rows).Error; err != nil {
			return err
		}
	}
	return mailAndAudit(tx, c.Mail, c.Audit)
}

// deleteFactors removes a user's authenticator app and recovery codes
// (the account goes).
func deleteFactors(tx *gorm.DB, userID string) error {
	if err := tx.Delete(&totpRow{}, "user_id = ?", userID).Error; err != nil {
		return err
	}
	return tx.Delete(&recoveryCodeRow{}, "user_id = ?", userID).Error
}
