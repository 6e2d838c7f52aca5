package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/storage"
)

func (s *Store) CreateCode(ctx context.Context, c storage.OneTimeCode, mail *storage.OutboxMail) error {
	return wrap("create code", s.tx(ctx, func(tx *gorm.DB) error { return createCode(tx, c, mail) }))
}

// createCode stores c, voiding the user's other unused codes of its
// purpose, and enqueues the mail that carries it (expiring with it).
func createCode(tx *gorm.DB, c storage.OneTimeCode, mail *storage.OutboxMail) error {
	err := tx.Model(&codeRow{}).Where("user_id = ? AND purpose = ? AND used_at IS NULL", c.UserID, c.Purpose).
		Update("used_at", utc(c.CreatedAt)).Error
	if err != nil {
		return err
	}
	row := toCodeRow(c)
	if err := tx.Create(&row).Error; err != nil || mail == nil {
		return err
	}
	return enqueueMail(tx, expiringWith(*mail, c.ExpiresAt))
}

func (s *Store) GetCodeByTicket(ctx context.Context, ticketHash string) (storage.OneTimeCode, error) {
	var row codeRow
	if err := s.db.WithContext(ctx).Take(&row, "ticket_hash = ?", ticketHash).Error; err != nil {
		return storage.OneTimeCode{}, wrap("get code by ticket", err)
	}
	return row.code(), nil
}

// usableCode is the condition of a code that may still be tried, and
// triedCode that of a code whose try was taken (its own failure counted).
const (
	usableCode = "id = ? AND used_at IS NULL AND expires_at > ? AND failures < ?"
	triedCode  = "id = ? AND used_at IS NULL AND expires_at > ? AND failures > 0 AND failures <= ?"
)

// TakeCodeTry locks the code row, then takes the limit's attempt (the
// code before the counter, in every transaction that takes both), so
// concurrent tries on any replica are taken one after another.
func (s *Store) TakeCodeTry(ctx context.Context, t storage.CodeTry) (storage.CodeTryResult, error) {
	var out storage.CodeTryResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(t.Now)
		var row codeRow
		if err := s.forUpdate(tx).Take(&row, "id = ?", t.ID).Error; err != nil {
			return err
		}
		out.Code = row.code()
		if !out.Code.Usable(now, t.MaxFailures) {
			return nil
		}
		if t.Limit != nil {
			taken, rows, err := s.takeAttempt(tx, now, []storage.Limit{*t.Limit})
			if err != nil {
				return err
			}
			out.Counter = rows[t.Limit.Key].counter()
			if !taken {
				out.Limited = true
				return errRefused
			}
		}
		if err := tx.Model(&codeRow{}).Where("id = ?", t.ID).Update("failures", gorm.Expr("failures + 1")).Error; err != nil {
			return err
		}
		out.Code.Failures++
		out.Taken = true
		return nil
	})
	if errors.Is(err, errRefused) {
		err = nil
	}
	return out, wrap("take code try", err)
}

// ReturnCodeTry is one conditional UPDATE.
func (s *Store) ReturnCodeTry(ctx context.Context, id string) error {
	err := s.db.WithContext(ctx).Model(&codeRow{}).Where("id = ? AND used_at IS NULL AND failures > 0", id).
		Update("failures", gorm.Expr("failures - 1")).Error
	return wrap("return code try", err)
}

// claimCode marks a usable code of the user and purpose used, as the
// first step of a transaction. A tried claim accepts the try it took.
func claimCode(tx *gorm.DB, c storage.CodeClaim, now time.Time) error {
	usable := usableCode
	if c.Tried {
		usable = triedCode
	}
	res := tx.Model(&codeRow{}).Where(usable+" AND user_id = ? AND purpose = ?", c.ID, now, c.MaxFailures, c.UserID, c.Purpose).
		Update("used_at", now)
	return claimed(tx, res, "one_time_codes", "id", c.ID)
}

func (s *Store) ClaimCode(ctx context.Context, c storage.CodeClaim, now time.Time) error {
	return wrap("claim code", s.tx(ctx, func(tx *gorm.DB) error { return claimCode(tx, c, utc(now)) }))
}

func (s *Store) RenewCode(ctx context.Context, r storage.CodeRenewal) (storage.OneTimeCode, error) {
	var out storage.OneTimeCode
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(r.Now)
		res := tx.Model(&codeRow{}).Where("id = ? AND used_at IS NULL AND failures < ?", r.ID, r.MaxFailures).Updates(map[string]any{
			"code_hash": r.CodeHash, "sent_at": now, "expires_at": utc(r.ExpiresAt), "sends": gorm.Expr("sends + 1"),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			found, err := exists(tx, "one_time_codes", "id", r.ID)
			if err == nil {
				err = storage.ErrNotFound
				if found {
					err = storage.ErrConflict
				}
			}
			return err
		}
		var row codeRow
		if err := tx.Take(&row, "id = ?", r.ID).Error; err != nil {
			return err
		}
		out = row.code()
		return enqueueMail(tx, expiringWith(r.Mail, r.ExpiresAt))
	})
	return out, wrap("renew code", err)
}

func (s *Store) ChangePassword(ctx context.Context, p storage.PasswordChange) (storage.SessionEndResult, error) {
	var out storage.SessionEndResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(p.Now)
		if p.Code != nil {
			if err := claimCode(tx, *p.Code, now); err != nil {
				return err
			}
		}
		set := map[string]any{"password_hash": p.PasswordHash, "must_change_password": false, "updated_at": now}
		if p.VerifyEmail {
			set["email_verified"] = true
			set["legacy_hash"] = ""
			set["migrated_at"] = gorm.Expr("CASE WHEN legacy_id IS NOT NULL AND migrated_at IS NULL THEN ? ELSE migrated_at END", now)
		}
		if p.AcceptInvitation {
			set["invited_at"] = nil
			set["last_login_at"] = now
		}
		res := tx.Model(&userRow{}).Where("id = ?", p.UserID).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return storage.ErrNotFound
		}
		if p.End != nil {
			var err error
			if out, err = s.endSessions(tx, *p.End); err != nil {
				return err
			}
		}
		return mailAndAudit(tx, p.Mail, p.Audit)
	})
	return out, wrap("change password", err)
}

func (s *Store) ChangeEmail(ctx context.Context, c storage.EmailChange) (storage.User, error) {
	var out storage.User
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(c.Now)
		userID, email, verified := c.UserID, c.Email, c.Verified
		if c.Code != nil {
			if err := claimCode(tx, *c.Code, now); err != nil {
				return err
			}
			var code codeRow
			if err := tx.Take(&code, "id = ?", c.Code.ID).Error; err != nil {
				return err
			}
			userID, email, verified = c.Code.UserID, code.Email, true
		}
		email = canonicalEmail(email)
		var row userRow
		if err := s.forUpdate(tx).Take(&row, "id = ?", userID).Error; err != nil {
			return err
		}
		key := emailKey(email)
		taken, err := s.emailTaken(tx, row.OrganizationID, key, userID)
		if err != nil {
			return err
		}
		if taken {
			return storage.ErrAlreadyExists
		}
		if row.EmailLower != key {
			if err := voidMailedCodes(tx, userID, now); err != nil {
				return err
			}
		}
		row.Email, row.EmailLower, row.EmailVerified, row.UpdatedAt = email, key, verified, now
		set := map[string]any{"email": row.Email, "email_lower": row.EmailLower, "email_verified": verified, "updated_at": now}
		if s.globalEmails {
			set["email_unique"] = nullString(key)
		}
		if err := tx.Model(&userRow{}).Where("id = ?", userID).Updates(set).Error; err != nil {
			return err
		}
		out = row.user()
		return mailAndAudit(tx, c.Mail, c.Audit)
	})
	return out, wrap("change email", err)
}

func (s *Store) GetDevice(ctx context.Context, tokenHash, userID string) (storage.Device, error) {
	var row deviceRow
	if err := s.db.WithContext(ctx).Take(&row, "token_hash = ? AND user_id = ?", tokenHash, userID).Error; err != nil {
		return storage.Device{}, wrap("get device", err)
	}
	return row.device(), nil
}

// saveDevice creates the device or moves its last use, expiry and OTP
// time forward.
func saveDevice(tx *gorm.DB, d storage.Device) error {
	row := toDeviceRow(d)
	set := map[string]any{"last_seen_at": row.LastSeenAt, "expires_at": row.ExpiresAt}
	if row.OTPAt != nil {
		set["otp_at"] = row.OTPAt
	}
	res := tx.Model(&deviceRow{}).Where("token_hash = ? AND user_id = ?", row.TokenHash, row.UserID).Updates(set)
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	return tx.Create(&row).Error
}

// voidMailedCodes ends the user's unused codes and links that were
// mailed: when the address changes, they prove nothing any more.
func voidMailedCodes(tx *gorm.DB, userID string, now time.Time) error {
	return tx.Model(&codeRow{}).Where("user_id = ? AND used_at IS NULL AND purpose IN ?", userID,
		[]string{storage.PurposeReset, storage.PurposeLogin, storage.PurposeVerifyEmail}).Update("used_at", now).Error
}

// mailAndAudit writes the mail a change sends and the event it records,
// each when set, in the change's transaction.
func mailAndAudit(tx *gorm.DB, m *storage.OutboxMail, e *storage.AuditEvent) error {
	if m != nil {
		if err := enqueueMail(tx, *m); err != nil {
			return err
		}
	}
	if e != nil {
		return createAuditEvent(tx, *e)
	}
	return nil
}

// expiringWith is m, which carries a code, expiring when the code does.
func expiringWith(m storage.OutboxMail, codeExpiresAt time.Time) storage.OutboxMail {
	t := codeExpiresAt
	m.ExpiresAt = &t
	return m
}
