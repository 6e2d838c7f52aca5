package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

func (s *Store) CreateCode(ctx context.Context, c storage.OneTimeCode, mail storage.OutboxMail) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		err := tx.Model(&codeRow{}).Where("user_id = ? AND purpose = ? AND used_at IS NULL", c.UserID, c.Purpose).
			Update("used_at", utc(c.CreatedAt)).Error
		if err != nil {
			return err
		}
		row := toCodeRow(c)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return enqueueMail(tx, mail)
	})
	return wrap("create code", err)
}

func (s *Store) GetCodeByTicket(ctx context.Context, ticketHash string) (storage.OneTimeCode, error) {
	var row codeRow
	if err := s.db.WithContext(ctx).Take(&row, "ticket_hash = ?", ticketHash).Error; err != nil {
		return storage.OneTimeCode{}, wrap("get code by ticket", err)
	}
	return row.code(), nil
}

// usableCode is the condition of a code that may still be tried.
const usableCode = "id = ? AND used_at IS NULL AND expires_at > ? AND failures < ?"

// FailCode counts with one conditional UPDATE, so concurrent wrong tries
// cannot exceed maxFailures.
func (s *Store) FailCode(ctx context.Context, id string, maxFailures int, now time.Time) (storage.OneTimeCode, error) {
	var out storage.OneTimeCode
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&codeRow{}).Where(usableCode, id, utc(now), maxFailures).Update("failures", gorm.Expr("failures + 1"))
		if res.Error != nil {
			return res.Error
		}
		var row codeRow
		if err := tx.Take(&row, "id = ?", id).Error; err != nil {
			return err
		}
		out = row.code()
		if res.RowsAffected == 0 {
			return storage.ErrConflict
		}
		return nil
	})
	return out, wrap("fail code", err)
}

func (s *Store) CompleteReset(ctx context.Context, r storage.ResetCompletion) (storage.SessionEndResult, error) {
	var out storage.SessionEndResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(r.Now)
		res := tx.Model(&codeRow{}).Where(usableCode+" AND user_id = ?", r.CodeID, now, r.MaxFailures, r.UserID).
			Update("used_at", now)
		if err := claimed(tx, res, "one_time_codes", "id", r.CodeID); err != nil {
			return err
		}
		res = tx.Model(&userRow{}).Where("id = ?", r.UserID).Updates(map[string]any{
			"password_hash": r.PasswordHash, "must_change_password": false, "email_verified": true, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return storage.ErrNotFound
		}
		var err error
		if out, err = s.endSessions(tx, r.End); err != nil {
			return err
		}
		if r.Mail != nil {
			if err := enqueueMail(tx, *r.Mail); err != nil {
				return err
			}
		}
		if r.Audit != nil {
			return createAuditEvent(tx, *r.Audit)
		}
		return nil
	})
	return out, wrap("complete reset", err)
}
