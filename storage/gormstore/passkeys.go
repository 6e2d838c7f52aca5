package gormstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/sekisho/sekisho/storage"
)

type passkeyUserRow struct {
	UserID    string `gorm:"primaryKey"`
	Handle    []byte
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
}

func (passkeyUserRow) TableName() string { return "passkey_users" }

type passkeyRow struct {
	ID             string `gorm:"primaryKey"`
	UserID         string
	Name           string
	CredentialID   []byte
	PublicKey      []byte
	SignCount      int64
	AAGUID         []byte `gorm:"column:aaguid"`
	Transports     stringList
	BackupEligible bool
	BackupState    bool
	Attachment     string
	CreatedAt      time.Time `gorm:"autoCreateTime:false"`
	LastUsedAt     *time.Time
}

func (passkeyRow) TableName() string { return "passkeys" }

func toPasskeyRow(p storage.Passkey) passkeyRow {
	return passkeyRow{
		ID: p.ID, UserID: p.UserID, Name: p.Name, CredentialID: p.CredentialID, PublicKey: p.PublicKey,
		SignCount: int64(p.SignCount), AAGUID: nonNil(p.AAGUID), Transports: stringList(p.Transports),
		BackupEligible: p.BackupEligible, BackupState: p.BackupState, Attachment: p.Attachment,
		CreatedAt: utc(p.CreatedAt), LastUsedAt: utcPtr(p.LastUsedAt),
	}
}

func (r passkeyRow) passkey() storage.Passkey {
	return storage.Passkey{
		ID: r.ID, UserID: r.UserID, Name: r.Name, CredentialID: r.CredentialID, PublicKey: r.PublicKey,
		SignCount: uint32(r.SignCount), AAGUID: r.AAGUID, Transports: []string(r.Transports),
		BackupEligible: r.BackupEligible, BackupState: r.BackupState, Attachment: r.Attachment,
		CreatedAt: fromDB(r.CreatedAt), LastUsedAt: fromDBPtr(r.LastUsedAt),
	}
}

// nonNil stores an absent byte string as an empty one (the column is NOT
// NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

type ceremonyRow struct {
	ID            string `gorm:"primaryKey"`
	TokenHash     string
	UserID        string
	Purpose       string
	SessionData   string
	AuthRequestID string
	BrowserHash   string
	CreatedAt     time.Time `gorm:"autoCreateTime:false"`
	ExpiresAt     time.Time
	UsedAt        *time.Time
}

func (ceremonyRow) TableName() string { return "webauthn_ceremonies" }

func (r ceremonyRow) ceremony() storage.WebAuthnCeremony {
	return storage.WebAuthnCeremony{
		ID: r.ID, TokenHash: r.TokenHash, UserID: r.UserID, Purpose: r.Purpose, SessionData: []byte(r.SessionData),
		AuthRequestID: r.AuthRequestID, BrowserHash: r.BrowserHash, CreatedAt: fromDB(r.CreatedAt),
		ExpiresAt: fromDB(r.ExpiresAt), UsedAt: fromDBPtr(r.UsedAt),
	}
}

// EnsurePasskeyHandle inserts the handle unless the user has one (ON
// CONFLICT DO NOTHING), then reads the one stored.
func (s *Store) EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte, now time.Time) ([]byte, error) {
	var out []byte
	err := s.tx(ctx, func(tx *gorm.DB) error {
		found, err := exists(tx, "users", "id", userID)
		if err != nil {
			return err
		}
		if !found {
			return storage.ErrNotFound
		}
		row := passkeyUserRow{UserID: userID, Handle: handle, CreatedAt: utc(now)}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}}, DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
		var stored passkeyUserRow
		if err := tx.Take(&stored, "user_id = ?", userID).Error; err != nil {
			return err
		}
		out = stored.Handle
		return nil
	})
	return out, wrap("ensure passkey handle", err)
}

func (s *Store) GetPasskeyHandle(ctx context.Context, userID string) ([]byte, error) {
	var row passkeyUserRow
	if err := s.db.WithContext(ctx).Take(&row, "user_id = ?", userID).Error; err != nil {
		return nil, wrap("get passkey handle", err)
	}
	return row.Handle, nil
}

func (s *Store) GetUserIDByPasskeyHandle(ctx context.Context, handle []byte) (string, error) {
	var row passkeyUserRow
	if err := s.db.WithContext(ctx).Take(&row, "handle = ?", handle).Error; err != nil {
		return "", wrap("get user by passkey handle", err)
	}
	return row.UserID, nil
}

func (s *Store) CreatePasskey(ctx context.Context, c storage.PasskeyChange) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row := toPasskeyRow(c.Passkey)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return passkeyEffects(tx, c)
	})
	return wrap("create passkey", err)
}

func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]storage.Passkey, error) {
	var rows []passkeyRow
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, id").Find(&rows).Error
	if err != nil {
		return nil, wrap("list passkeys", err)
	}
	return convert(rows, passkeyRow.passkey), nil
}

func (s *Store) GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (storage.Passkey, error) {
	var row passkeyRow
	if err := s.db.WithContext(ctx).Take(&row, "credential_id = ?", credentialID).Error; err != nil {
		return storage.Passkey{}, wrap("get passkey", err)
	}
	return row.passkey(), nil
}

func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	res := s.db.WithContext(ctx).Model(&passkeyRow{}).Where("id = ? AND user_id = ?", id, userID).Update("name", name)
	if res.Error == nil && res.RowsAffected == 0 {
		return wrap("rename passkey", storage.ErrNotFound)
	}
	return wrap("rename passkey", res.Error)
}

func (s *Store) DeletePasskey(ctx context.Context, c storage.PasskeyChange) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("id = ? AND user_id = ?", c.Passkey.ID, c.Passkey.UserID).Delete(&passkeyRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return storage.ErrNotFound
		}
		return passkeyEffects(tx, c)
	})
	return wrap("delete passkey", err)
}

// passkeyEffects writes what goes with a passkey's change: its recovery
// codes' change, mail and audit event.
func passkeyEffects(tx *gorm.DB, c storage.PasskeyChange) error {
	if c.Codes != nil {
		codes := *c.Codes
		codes.UserID, codes.Mail, codes.Audit = c.Passkey.UserID, nil, nil
		if err := applyFactorChange(tx, codes); err != nil {
			return err
		}
	}
	return mailAndAudit(tx, c.Mail, c.Audit)
}

// UsePasskey is one conditional UPDATE: of concurrent assertions with one
// counter value, one moves the counter and the others are refused.
func (s *Store) UsePasskey(ctx context.Context, u storage.PasskeyUse) (storage.Passkey, error) {
	var out storage.Passkey
	err := s.tx(ctx, func(tx *gorm.DB) error {
		n := int64(u.SignCount)
		res := tx.Model(&passkeyRow{}).
			Where("id = ? AND backup_eligible = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))", u.ID, u.BackupEligible, n, n).
			Updates(map[string]any{"sign_count": n, "backup_state": u.BackupState, "last_used_at": utc(u.Now)})
		if err := claimed(tx, res, "passkeys", "id", u.ID); err != nil {
			if errors.Is(err, storage.ErrAlreadyUsed) {
				// The row is there: the counter or the flag refused it.
				err = storage.ErrConflict
			}
			return err
		}
		var row passkeyRow
		if err := tx.Take(&row, "id = ?", u.ID).Error; err != nil {
			return err
		}
		out = row.passkey()
		return nil
	})
	return out, wrap("use passkey", err)
}

func (s *Store) CreateCeremony(ctx context.Context, c storage.WebAuthnCeremony) error {
	row := ceremonyRow{
		ID: c.ID, TokenHash: c.TokenHash, UserID: c.UserID, Purpose: c.Purpose, SessionData: string(c.SessionData),
		AuthRequestID: c.AuthRequestID, BrowserHash: c.BrowserHash, CreatedAt: utc(c.CreatedAt),
		ExpiresAt: utc(c.ExpiresAt), UsedAt: utcPtr(c.UsedAt),
	}
	return wrap("create webauthn ceremony", s.db.WithContext(ctx).Create(&row).Error)
}

// ClaimCeremony sets used_at by one conditional UPDATE, then reads the
// row back in the same transaction.
func (s *Store) ClaimCeremony(ctx context.Context, c storage.CeremonyClaim) (storage.WebAuthnCeremony, error) {
	var out storage.WebAuthnCeremony
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := utc(c.Now)
		res := tx.Model(&ceremonyRow{}).
			Where("token_hash = ? AND used_at IS NULL AND expires_at > ? AND purpose = ? AND browser_hash = ?",
				c.TokenHash, now, c.Purpose, c.BrowserHash).
			Update("used_at", now)
		if err := claimed(tx, res, "webauthn_ceremonies", "token_hash", c.TokenHash); err != nil {
			return err
		}
		var row ceremonyRow
		if err := tx.Take(&row, "token_hash = ?", c.TokenHash).Error; err != nil {
			return err
		}
		out = row.ceremony()
		return nil
	})
	return out, wrap("claim webauthn ceremony", err)
}
