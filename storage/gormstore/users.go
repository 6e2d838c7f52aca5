package gormstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// emailKey is the form in which emails are compared, kept in email_lower:
// the one normaliser's key (identifier.Key), made in Go because SQLite
// and PostgreSQL collations fold case differently.
func emailKey(email string) string { return identifier.Key(email) }

// canonicalEmail is the form in which an email is stored: the canonical
// address when it is one (callers validate what people type), else the
// input trimmed (rows written before the normaliser).
// canonicalUsername is canonicalEmail for account names and
// organization codes.
func canonicalUsername(name string) string {
	if u, err := identifier.Username(name); err == nil {
		return u
	}
	return strings.TrimSpace(name)
}

func canonicalEmail(email string) string {
	if e, err := identifier.Email(email); err == nil {
		return e
	}
	return strings.TrimSpace(email)
}

func (s *Store) CreateUser(ctx context.Context, u storage.User) error {
	row := toUserRow(u, s.globalEmails)
	return wrap("create user", s.db.WithContext(ctx).Create(&row).Error)
}

func (s *Store) CreateUserWithLink(ctx context.Context, u storage.User, link storage.OneTimeCode, m storage.OutboxMail) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row := toUserRow(u, s.globalEmails)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return createCode(tx, link, &m)
	})
	return wrap("create user with link", err)
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
	// Deployment-wide look-up is the "email" sign-in mode's: only there is
	// email_unique filled (SetEmailScope), so in the organization modes
	// nothing is found and no organization's account leaks into another's.
	if err := s.db.WithContext(ctx).Take(&row, "email_unique = ?", emailKey(email)).Error; err != nil {
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
		row = toUserRow(u, s.globalEmails)
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
		if err := deleteFactors(tx, id); err != nil {
			return err
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

func (s *Store) GetUserByLegacyID(ctx context.Context, legacyID string) (storage.User, error) {
	var row userRow
	if err := s.db.WithContext(ctx).Take(&row, "legacy_id = ?", legacyID).Error; err != nil {
		return storage.User{}, wrap("get user by legacy id", err)
	}
	return row.user(), nil
}

// errDryRun rolls a dry-run import back.
var errDryRun = errors.New("dry run")

func (s *Store) ImportLegacyUsers(ctx context.Context, users []storage.LegacyUser, now time.Time, dryRun bool) ([]storage.ImportResult, error) {
	out := make([]storage.ImportResult, len(users))
	err := s.tx(ctx, func(tx *gorm.DB) error {
		b, err := loadImportBatch(tx, users, s.globalEmails)
		if err != nil {
			return err
		}
		b.lock = s.forUpdate
		var created []userRow
		for i, lu := range users {
			res, row, err := b.importOne(tx, lu, utc(now))
			if err != nil {
				return err
			}
			if row != nil {
				created = append(created, *row)
			}
			out[i] = res
		}
		if len(created) > 0 {
			if err := tx.CreateInBatches(created, 500).Error; err != nil {
				return err
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return out, wrap("import legacy users", err)
}

// importBatch holds the users an import batch touches, loaded with one
// query (not one per line): by legacy id, email and account name.
type importBatch struct {
	byLegacyID map[string]*userRow
	byEmail    map[string]*userRow // by emailOwner
	byUsername map[string]*userRow // by organization and account name key
	global     bool                // addresses unique across the deployment
	// members counts the members of the organizations new users join
	// under a limit (loaded once, with the organization locked, then
	// counting the batch's new users); lock locks rows read.
	members map[string]int
	lock    func(*gorm.DB) *gorm.DB
}

// memberCount is the organization's member count, the batch's new members
// included.
func (b *importBatch) memberCount(tx *gorm.DB, orgID string) (int, error) {
	if n, ok := b.members[orgID]; ok {
		return n, nil
	}
	var org organizationRow
	if err := b.lock(tx).Take(&org, "id = ?", orgID).Error; err != nil {
		return 0, err
	}
	var n int64
	if err := tx.Model(&userRow{}).Where("organization_id = ?", orgID).Count(&n).Error; err != nil {
		return 0, err
	}
	b.members[orgID] = int(n)
	return int(n), nil
}

func loadImportBatch(tx *gorm.DB, users []storage.LegacyUser, global bool) (*importBatch, error) {
	ids := make([]string, len(users))
	emails := make([]string, len(users))
	var names []string
	for i, u := range users {
		ids[i], emails[i] = u.LegacyID, emailKey(u.Email)
		if u.Username != "" {
			names = append(names, identifier.UsernameKey(u.Username))
		}
	}
	q := tx.Where("legacy_id IN ? OR email_lower IN ?", ids, emails)
	if len(names) > 0 {
		q = q.Or("username_key IN ?", names)
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	b := &importBatch{byLegacyID: map[string]*userRow{}, byEmail: map[string]*userRow{}, byUsername: map[string]*userRow{},
		global: global, members: map[string]int{}}
	for i := range rows {
		b.add(&rows[i])
	}
	return b, nil
}

// emailOwner is the key under which an address is unique: the address
// alone across the deployment, or with the organization.
func (b *importBatch) emailOwner(orgID, key string) string {
	if b.global {
		return key
	}
	return orgID + "\x00" + key
}

func (b *importBatch) add(r *userRow) {
	if r.LegacyID != nil {
		b.byLegacyID[*r.LegacyID] = r
	}
	b.byEmail[b.emailOwner(r.OrganizationID, r.EmailLower)] = r
	if r.UsernameKey != "" {
		b.byUsername[r.OrganizationID+"\x00"+r.UsernameKey] = r
	}
}

// importOne decides what one line does; a new user is returned to be
// inserted with the others.
func (b *importBatch) importOne(tx *gorm.DB, lu storage.LegacyUser, now time.Time) (storage.ImportResult, *userRow, error) {
	res := storage.ImportResult{LegacyID: lu.LegacyID}
	email := emailKey(lu.Email)
	row := b.byLegacyID[lu.LegacyID]
	org := lu.OrganizationID
	switch {
	case row != nil:
		org = row.OrganizationID // an imported user stays in its organization
	case org == "":
		org = storage.DefaultOrganizationID
	}
	owner := b.byEmail[b.emailOwner(org, email)]
	if row == nil {
		switch {
		case owner != nil && owner.LegacyID == nil:
			res.Outcome, res.Reason = storage.ImportRejected, "the email belongs to an account that was not imported"
			return res, nil, nil
		case owner != nil:
			res.Outcome, res.Reason = storage.ImportRejected, "the email belongs to another imported user"
			return res, nil, nil
		case lu.Username != "" && b.byUsername[org+"\x00"+identifier.UsernameKey(lu.Username)] != nil:
			res.Outcome, res.Reason = storage.ImportRejected, "the account name belongs to another account of the organization"
			return res, nil, nil
		}
		if lu.Limit > 0 {
			n, err := b.memberCount(tx, org)
			if err != nil {
				return res, nil, err
			}
			if n >= lu.Limit {
				res.Outcome, res.Reason = storage.ImportRejected, fmt.Sprintf("the organization has reached its member limit (%d)", lu.Limit)
				return res, nil, nil
			}
			b.members[org] = n + 1
		}
		u := storage.User{ID: uuid.NewString(), OrganizationID: org, Email: canonicalEmail(lu.Email), Name: lu.Name,
			Username: lu.Username, Role: lu.Role, LegacyID: lu.LegacyID, LegacyHash: lu.PasswordHash, Roles: lu.Roles,
			Lang: lu.Lang, CreatedAt: now, UpdatedAt: now}
		r := toUserRow(u, b.global)
		b.add(&r)
		res.UserID, res.Outcome = u.ID, storage.ImportCreated
		return res, &r, nil
	}
	res.UserID = row.ID
	if row.MigratedAt != nil {
		res.Outcome = storage.ImportUnchanged
		return res, nil, nil
	}
	if owner != nil && owner.ID != row.ID {
		res.Outcome, res.Reason = storage.ImportRejected, "the email belongs to another account"
		return res, nil, nil
	}
	trimmed := canonicalEmail(lu.Email)
	if row.Email == trimmed && row.Name == lu.Name && row.LegacyHash == lu.PasswordHash &&
		slices.Equal([]string(row.Roles), lu.Roles) && row.Lang == lu.Lang {
		res.Outcome = storage.ImportUnchanged
		return res, nil, nil
	}
	res.Outcome = storage.ImportUpdated
	set := map[string]any{"email": trimmed, "email_lower": email, "name": lu.Name,
		"legacy_hash": lu.PasswordHash, "roles": stringList(lu.Roles), "lang": lu.Lang, "updated_at": now}
	if b.global {
		set["email_unique"] = nullString(email)
	}
	if emailKey(row.Email) != email {
		set["email_verified"] = false
		if err := voidMailedCodes(tx, row.ID, now); err != nil {
			return res, nil, err
		}
	}
	delete(b.byEmail, b.emailOwner(row.OrganizationID, row.EmailLower))
	row.Email, row.EmailLower, row.Name, row.LegacyHash, row.Roles = trimmed, email, lu.Name, lu.PasswordHash, stringList(lu.Roles)
	row.Lang = lu.Lang
	b.add(row)
	return res, nil, tx.Model(&userRow{}).Where("id = ?", row.ID).Updates(set).Error
}

func (s *Store) CountLegacyUsers(ctx context.Context) (imported, migrated int, err error) {
	var counts struct{ Imported, Migrated int64 }
	err = s.db.WithContext(ctx).Model(&userRow{}).Where("legacy_id IS NOT NULL").
		Select("COUNT(*) AS imported, COUNT(migrated_at) AS migrated").Scan(&counts).Error
	return int(counts.Imported), int(counts.Migrated), wrap("count legacy users", err)
}

func (s *Store) ListUnmigrated(ctx context.Context, afterID string, limit int) ([]storage.User, error) {
	var rows []userRow
	err := s.db.WithContext(ctx).Where("legacy_id IS NOT NULL AND migrated_at IS NULL AND id > ?", afterID).
		Order("id").Limit(limitOr(limit, 100)).Find(&rows).Error
	if err != nil {
		return nil, wrap("list unmigrated users", err)
	}
	out := make([]storage.User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, nil
}
