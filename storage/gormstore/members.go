package gormstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/lifecycle"
	"github.com/sekisho/sekisho/storage"
)

type organizationRow struct {
	ID         string `gorm:"primaryKey"`
	Code       string
	CodeKey    string
	Name       string
	TimeZone   string
	MaxMembers int
	// The organization's own brand (migration 00019).
	BrandNameJA string `gorm:"column:brand_name_ja"`
	BrandNameEN string `gorm:"column:brand_name_en"`
	LogoType    string
	LogoHash    string
	MFAPolicy   string    `gorm:"column:mfa_policy"` // migration 00020
	CreatedAt   time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt   time.Time `gorm:"autoUpdateTime:false"`
}

func (organizationRow) TableName() string { return "organizations" }

// organizationLogoRow is an organization's logo, apart from its row.
type organizationLogoRow struct {
	OrganizationID string `gorm:"primaryKey"`
	Data           []byte
}

func (organizationLogoRow) TableName() string { return "organization_logos" }

func toOrganizationRow(o storage.Organization) organizationRow {
	return organizationRow{ID: o.ID, Code: canonicalUsername(o.Code), CodeKey: identifier.UsernameKey(o.Code), Name: o.Name,
		TimeZone: o.TimeZone, MaxMembers: o.MaxMembers, BrandNameJA: o.BrandNameJA, BrandNameEN: o.BrandNameEN,
		LogoType: o.LogoType, LogoHash: o.LogoHash, MFAPolicy: o.MFAPolicy, CreatedAt: utc(o.CreatedAt), UpdatedAt: utc(o.UpdatedAt)}
}

func (r organizationRow) organization() storage.Organization {
	return storage.Organization{ID: r.ID, Code: r.Code, Name: r.Name, TimeZone: r.TimeZone, MaxMembers: r.MaxMembers,
		BrandNameJA: r.BrandNameJA, BrandNameEN: r.BrandNameEN, LogoType: r.LogoType, LogoHash: r.LogoHash,
		MFAPolicy: r.MFAPolicy, CreatedAt: fromDB(r.CreatedAt), UpdatedAt: fromDB(r.UpdatedAt)}
}

func (s *Store) CreateOrganization(ctx context.Context, o storage.Organization) error {
	row := toOrganizationRow(o)
	return wrap("create organization", s.db.WithContext(ctx).Create(&row).Error)
}

func (s *Store) GetOrganization(ctx context.Context, id string) (storage.Organization, error) {
	var row organizationRow
	if err := s.db.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return storage.Organization{}, wrap("get organization", err)
	}
	return row.organization(), nil
}

func (s *Store) GetOrganizationByCode(ctx context.Context, code string) (storage.Organization, error) {
	var row organizationRow
	if err := s.db.WithContext(ctx).Take(&row, "code_key = ?", identifier.UsernameKey(code)).Error; err != nil {
		return storage.Organization{}, wrap("get organization by code", err)
	}
	return row.organization(), nil
}

func (s *Store) ListOrganizations(ctx context.Context) ([]storage.Organization, error) {
	var rows []organizationRow
	if err := s.db.WithContext(ctx).Order("code_key").Find(&rows).Error; err != nil {
		return nil, wrap("list organizations", err)
	}
	return convert(rows, organizationRow.organization), nil
}

func (s *Store) UpdateOrganization(ctx context.Context, id string, fn func(storage.Organization) (storage.Organization, []storage.AuditEvent, error)) (storage.Organization, error) {
	var out storage.Organization
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row organizationRow
		if err := s.forUpdate(tx).Take(&row, "id = ?", id).Error; err != nil {
			return err
		}
		o, audit, err := fn(row.organization())
		if err != nil {
			return err
		}
		o.ID = id
		row = toOrganizationRow(o)
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		for _, e := range audit {
			if err := createAuditEvent(tx, e); err != nil {
				return err
			}
		}
		out = row.organization()
		return nil
	})
	return out, wrap("update organization", err)
}

func (s *Store) SetOrganizationLogo(ctx context.Context, id string, data []byte, mediaType, hash string, e storage.AuditEvent) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row organizationRow
		if err := s.forUpdate(tx).Take(&row, "id = ?", id).Error; err != nil {
			return err
		}
		if err := tx.Where("organization_id = ?", id).Delete(&organizationLogoRow{}).Error; err != nil {
			return err
		}
		row.LogoType, row.LogoHash = "", ""
		if data != nil {
			if err := tx.Create(&organizationLogoRow{OrganizationID: id, Data: data}).Error; err != nil {
				return err
			}
			row.LogoType, row.LogoHash = mediaType, hash
		}
		if err := tx.Model(&organizationRow{}).Where("id = ?", id).
			Updates(map[string]any{"logo_type": row.LogoType, "logo_hash": row.LogoHash}).Error; err != nil {
			return err
		}
		return createAuditEvent(tx, e)
	})
	return wrap("set organization logo", err)
}

func (s *Store) GetOrganizationLogo(ctx context.Context, id string) ([]byte, string, error) {
	var row struct {
		Data     []byte
		LogoType string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT l.data, o.logo_type FROM organization_logos l
JOIN organizations o ON o.id = l.organization_id WHERE l.organization_id = ?`, id).Scan(&row).Error
	if err == nil && row.Data == nil {
		err = gorm.ErrRecordNotFound
	}
	if err != nil {
		return nil, "", wrap("get organization logo", err)
	}
	return row.Data, row.LogoType, nil
}

// memberOf loads a member of the organization (ErrNotFound for a member
// of another one, as for an unknown id).
func (s *Store) memberOf(db *gorm.DB, orgID, where string, args ...any) (storage.User, error) {
	var row userRow
	err := db.Where("organization_id = ?", orgID).Where(where, args...).Take(&row).Error
	return row.user(), err
}

func (s *Store) GetMember(ctx context.Context, orgID, userID string) (storage.User, error) {
	u, err := s.memberOf(s.db.WithContext(ctx), orgID, "id = ?", userID)
	return u, wrap("get member", err)
}

func (s *Store) GetMemberByEmail(ctx context.Context, orgID, email string) (storage.User, error) {
	key := emailKey(email)
	if key == "" {
		return storage.User{}, wrap("get member by email", storage.ErrNotFound)
	}
	u, err := s.memberOf(s.db.WithContext(ctx), orgID, "email_lower = ?", key)
	return u, wrap("get member by email", err)
}

func (s *Store) GetMemberByUsername(ctx context.Context, orgID, username string) (storage.User, error) {
	key := identifier.UsernameKey(username)
	if key == "" {
		return storage.User{}, wrap("get member by username", storage.ErrNotFound)
	}
	u, err := s.memberOf(s.db.WithContext(ctx), orgID, "username_key = ?", key)
	return u, wrap("get member by username", err)
}

// Conditions of a member's states, in SQL over the users row: a usable
// invitation, and a verification link waiting (a change of address).
const (
	inviteWaiting = `EXISTS (SELECT 1 FROM one_time_codes c WHERE c.user_id = users.id AND c.purpose = 'invite'
AND c.used_at IS NULL AND c.expires_at > @now)`
	linkWaiting = `EXISTS (SELECT 1 FROM one_time_codes c WHERE c.user_id = users.id AND c.purpose = 'verify_email'
AND c.used_at IS NULL AND c.expires_at > @now)`
	pendingEmail = `(SELECT c.email FROM one_time_codes c WHERE c.user_id = users.id AND c.purpose = 'verify_email'
AND c.used_at IS NULL AND c.expires_at > @now ORDER BY c.created_at DESC LIMIT 1)`
	registered = `(users.email_lower <> '' AND users.email_verified AND NOT ` + linkWaiting + `)`
)

// memberRow is a users row with its states.
type memberRow struct {
	User          userRow `gorm:"embedded"` // exported: gorm sets only exported fields
	InviteWaiting bool
	Registered    bool
	PendingEmail  *string
}

func (r memberRow) member() storage.Member {
	m := storage.Member{User: r.User.user(), EmailState: storage.EmailNotRegistered}
	if r.Registered {
		m.EmailState = storage.EmailRegistered
	}
	if r.PendingEmail != nil {
		m.PendingEmail = *r.PendingEmail
	}
	switch {
	case r.User.Disabled:
		m.Status = storage.StatusDisabled
	case r.User.InvitedAt != nil && r.InviteWaiting:
		m.Status = storage.StatusInvited
	case r.User.InvitedAt != nil:
		m.Status = storage.StatusInviteExpired
	default:
		m.Status = storage.StatusActive
	}
	return m
}

// likePattern is a LIKE pattern matching s anywhere, with s's own
// wildcards escaped (ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// ListMembers filters in SQL (states included), so a page of a large
// organization costs one counted query and one page query, whose states
// are computed for the page's rows only.
func (s *Store) ListMembers(ctx context.Context, f storage.MemberFilter) (storage.MemberPage, error) {
	if f.OrganizationID == "" {
		return storage.MemberPage{}, errors.New("gormstore: list members: no organization")
	}
	p, err := s.listMembers(ctx, f)
	return p, wrap("list members", err)
}

// ListAccounts is ListMembers across organizations (the operator's list).
func (s *Store) ListAccounts(ctx context.Context, f storage.MemberFilter) (storage.MemberPage, error) {
	p, err := s.listMembers(ctx, f)
	return p, wrap("list accounts", err)
}

// listMembers lists the members f selects, of every organization when
// f.OrganizationID is empty.
func (s *Store) listMembers(ctx context.Context, f storage.MemberFilter) (storage.MemberPage, error) {
	now := utc(f.Now)
	if f.Now.IsZero() {
		now = utc(time.Now())
	}
	q := s.db.WithContext(ctx).Model(&userRow{})
	if f.OrganizationID != "" {
		q = q.Where("users.organization_id = ?", f.OrganizationID)
	}
	if f.UserID != "" {
		q = q.Where("users.id = ?", f.UserID)
	}
	if t := strings.TrimSpace(f.Search); t != "" {
		p := likePattern(strings.ToLower(t))
		q = q.Where(`(LOWER(users.name) LIKE @p ESCAPE '\' OR users.username_key LIKE @p ESCAPE '\' OR users.email_lower LIKE @p ESCAPE '\')`,
			map[string]any{"p": p})
	}
	args := map[string]any{"now": now, "idle": utc(f.IdleBefore)}
	if len(f.Roles) > 0 {
		q = q.Where("users.role IN ?", f.Roles)
	}
	if f.DormantAlerts {
		q = q.Where("users.dormant_alerts")
	}
	switch f.EmailState {
	case storage.EmailRegistered:
		q = q.Where(registered, args)
	case storage.EmailNotRegistered:
		q = q.Where("NOT "+registered, args)
	}
	switch f.Status {
	case storage.StatusDisabled:
		q = q.Where("users.disabled")
	case storage.StatusInvited:
		q = q.Where("NOT users.disabled AND users.invited_at IS NOT NULL AND "+inviteWaiting, args)
	case storage.StatusInviteExpired:
		q = q.Where("NOT users.disabled AND users.invited_at IS NOT NULL AND NOT "+inviteWaiting, args)
	case storage.StatusActive:
		q = q.Where("NOT users.disabled AND users.invited_at IS NULL")
		if !f.IdleBefore.IsZero() {
			q = q.Where("NOT "+lockedRule, args)
		}
	case storage.StatusLocked:
		if f.IdleBefore.IsZero() {
			q = q.Where("1 = 0") // the lock is off
		} else {
			q = q.Where(lockedRule, args)
		}
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return storage.MemberPage{}, fmt.Errorf("count: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	// The page's ids first (an index scan), then the states of those rows
	// only: PostgreSQL would compute the states' subqueries of every row
	// the offset skips.
	page := q.Session(&gorm.Session{}).Select("users.id").Order("users.created_at, users.id").Limit(limit).Offset(max(f.Offset, 0))
	var rows []memberRow
	err := s.db.WithContext(ctx).Model(&userRow{}).
		Select("users.*, "+inviteWaiting+" AS invite_waiting, "+registered+" AS registered, "+pendingEmail+" AS pending_email", args).
		Where("users.id IN (?)", page).Order("users.created_at, users.id").Find(&rows).Error
	if err != nil {
		return storage.MemberPage{}, err
	}
	members := convert(rows, memberRow.member)
	if !f.IdleBefore.IsZero() {
		for i, m := range members {
			if m.Status == storage.StatusActive && lifecycle.Dormant(lifecycle.Of(m.User), now, now.Sub(utc(f.IdleBefore))) {
				members[i].Status = storage.StatusLocked
			}
		}
	}
	return storage.MemberPage{Members: members, Total: int(total)}, nil
}

// lockOrganization locks the organization row, which serialises the
// membership changes of one organization (limits, the last owner, ranks)
// on every replica. SQLite's transaction holds the database's lock.
func (s *Store) lockOrganization(tx *gorm.DB, orgID string) (organizationRow, error) {
	var row organizationRow
	err := s.forUpdate(tx).Take(&row, "id = ?", orgID).Error
	return row, err
}

// checkGuard authorizes an actor to act on a member holding role and to
// give them newRole: an active member of the organization whose role may
// manage members and ranks at or above both roles, or a platform
// administrator.
func (s *Store) checkGuard(tx *gorm.DB, orgID string, g *storage.MemberGuard, roles ...string) error {
	rank, platform, err := s.guardRank(tx, orgID, g)
	if err != nil || platform {
		return err
	}
	for _, role := range roles {
		if r, _, ok := g.Rank(role); ok && r < rank {
			return storage.ErrForbidden
		}
	}
	return nil
}

// guardRank authorizes the guard's actor in the organization (an active
// member whose role may manage members, or a platform administrator:
// ErrForbidden otherwise) and gives their rank.
func (s *Store) guardRank(tx *gorm.DB, orgID string, g *storage.MemberGuard) (rank int, platform bool, err error) {
	var actor userRow
	if err := s.forUpdate(tx).Take(&actor, "id = ?", g.ActorID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, false, storage.ErrForbidden
		}
		return 0, false, err
	}
	switch {
	case actor.Disabled || actor.InvitedAt != nil:
		return 0, false, storage.ErrForbidden
	case actor.PlatformAdmin:
		return 0, true, nil
	case actor.OrganizationID != orgID:
		return 0, false, storage.ErrForbidden
	}
	rank, manage, ok := g.Rank(actor.Role)
	if !ok || !manage {
		return 0, false, storage.ErrForbidden
	}
	return rank, false, nil
}

// activeHolder reports whether u holds role and can act with it.
func activeHolder(u storage.User, role string) bool {
	return role != "" && u.Role == role && !u.Disabled && u.InvitedAt == nil
}

// keepsTopRole refuses a change that ends the organization's last active
// holder of topRole.
func keepsTopRole(tx *gorm.DB, orgID, topRole string, old storage.User, after *storage.User) error {
	if !activeHolder(old, topRole) || (after != nil && activeHolder(*after, topRole)) {
		return nil
	}
	var others int64
	err := tx.Model(&userRow{}).Where("organization_id = ? AND role = ? AND NOT disabled AND invited_at IS NULL AND id <> ?",
		orgID, topRole, old.ID).Count(&others).Error
	if err == nil && others == 0 {
		err = storage.ErrLastOwner
	}
	return err
}

func (s *Store) AddMember(ctx context.Context, m storage.NewMember) error {
	u := m.User
	if u.OrganizationID == "" {
		u.OrganizationID = storage.DefaultOrganizationID
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockOrganization(tx, u.OrganizationID); err != nil {
			return err
		}
		if m.Guard != nil && !m.Guard.Operator {
			if err := s.checkGuard(tx, u.OrganizationID, m.Guard, u.Role); err != nil {
				return err
			}
		}
		if m.Limit > 0 {
			var n int64
			if err := tx.Model(&userRow{}).Where("organization_id = ?", u.OrganizationID).Count(&n).Error; err != nil {
				return err
			}
			if n >= int64(m.Limit) {
				return storage.ErrMemberLimit
			}
		}
		row := toUserRow(u, s.globalEmails)
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return s.memberEffects(tx, m.Code, nil, m.Mails, m.Audit)
	})
	return wrap("add member", err)
}

// memberEffects writes what a membership change sends and records: the
// code (with the first mail, which carries it and expires with it), the
// other mails and the audit events.
func (s *Store) memberEffects(tx *gorm.DB, code *storage.OneTimeCode, end *storage.SessionEnd, mails []storage.OutboxMail, audit []storage.AuditEvent) error {
	if code != nil {
		var carrier *storage.OutboxMail
		if len(mails) > 0 {
			carrier, mails = &mails[0], mails[1:]
		}
		if err := createCode(tx, *code, carrier); err != nil {
			return err
		}
	}
	if end != nil {
		if _, err := s.endSessions(tx, *end); err != nil {
			return err
		}
	}
	for _, m := range mails {
		if err := enqueueMail(tx, m); err != nil {
			return err
		}
	}
	for _, e := range audit {
		if err := createAuditEvent(tx, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) ChangeMember(ctx context.Context, c storage.MemberChange) (storage.User, storage.SessionEndResult, error) {
	var out storage.User
	var ended storage.SessionEndResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.lockOrganization(tx, c.OrganizationID); err != nil {
			return err
		}
		old, err := s.memberOf(s.forUpdate(tx), c.OrganizationID, "id = ?", c.UserID)
		if err != nil {
			return err
		}
		after := old
		if c.Update != nil {
			if after, err = c.Update(old); err != nil {
				return err
			}
			after.ID, after.OrganizationID = old.ID, old.OrganizationID
		}
		if c.Guard != nil {
			if !c.Guard.Operator {
				if err := s.checkGuard(tx, c.OrganizationID, c.Guard, old.Role, after.Role); err != nil {
					return err
				}
			}
			top := c.Guard.TopRole
			keep := &after
			if c.Delete {
				keep = nil
			}
			if err := keepsTopRole(tx, c.OrganizationID, top, old, keep); err != nil {
				return err
			}
		}
		// Sessions end first, with their clients' deliveries: a deletion
		// then finds them ended and only revokes what is left.
		if c.End != nil {
			if ended, err = s.endSessions(tx, *c.End); err != nil {
				return err
			}
		}
		switch {
		case c.Delete:
			if err := tx.Delete(&userRow{}, "id = ?", old.ID).Error; err != nil {
				return err
			}
			if _, err := s.endSessions(tx, storage.SessionEnd{UserID: old.ID, Now: c.Now, Reason: storage.EndDeleted,
				RevokeAllTokens: true}); err != nil {
				return err
			}
		case c.Update != nil:
			row := toUserRow(after, s.globalEmails)
			if err := tx.Save(&row).Error; err != nil {
				return err
			}
			out = row.user()
		default:
			out = old
		}
		if c.ResetFactors && !c.Delete {
			for _, row := range []any{&totpRow{}, &passkeyRow{}, &recoveryCodeRow{}} {
				if err := tx.Delete(row, "user_id = ?", old.ID).Error; err != nil {
					return err
				}
			}
		}
		return s.memberEffects(tx, c.Code, nil, c.Mails, c.Audit)
	})
	return out, ended, wrap("change member", err)
}

// emailTaken reports whether another account holds the address key where
// addresses must be unique: the deployment (global) or the organization.
func (s *Store) emailTaken(tx *gorm.DB, orgID, key, exceptID string) (bool, error) {
	if key == "" {
		return false, nil
	}
	q := tx.Model(&userRow{}).Where("id <> ?", exceptID)
	if s.globalEmails {
		q = q.Where("email_unique = ?", key)
	} else {
		q = q.Where("organization_id = ? AND email_lower = ?", orgID, key)
	}
	var n int64
	err := q.Count(&n).Error
	return n > 0, err
}

// SetEmailScope fills email_unique (global) or clears it, in one
// transaction; a global scope that two organizations' addresses would
// break changes nothing and names them.
func (s *Store) SetEmailScope(ctx context.Context, global bool) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if !global {
			return tx.Model(&userRow{}).Where("email_unique IS NOT NULL").Update("email_unique", nil).Error
		}
		// Every start of a server and every command sets the scope: when
		// each address holds its key already (the unique index then rules
		// out a clash), nothing is read further or rewritten. A key is
		// missing only where a row was written in the organization scope
		// (every write in this scope sets it to email_lower); the partial
		// index users_email_key_missing finds those rows.
		const stale = "email_lower <> '' AND email_unique IS NULL"
		var probe []string
		if err := tx.Model(&userRow{}).Where(stale).Limit(1).Pluck("id", &probe).Error; err != nil || len(probe) == 0 {
			return err
		}
		type clash struct {
			EmailLower string
			N          int
		}
		var clashes []clash
		err := tx.Model(&userRow{}).Select("email_lower, COUNT(*) AS n").Where("email_lower <> ''").
			Group("email_lower").Having("COUNT(*) > 1").Order("email_lower").Limit(20).Scan(&clashes).Error
		if err != nil {
			return err
		}
		if len(clashes) > 0 {
			var lines []string
			for _, c := range clashes {
				var orgs []string
				if err := tx.Model(&userRow{}).Joins("JOIN organizations o ON o.id = users.organization_id").
					Where("users.email_lower = ?", c.EmailLower).Order("o.code_key").Pluck("o.code", &orgs).Error; err != nil {
					return err
				}
				lines = append(lines, fmt.Sprintf("%s (organizations %s)", identifier.Mask(c.EmailLower), strings.Join(slices.Compact(orgs), ", ")))
			}
			return fmt.Errorf("%w: in the email sign-in mode an address belongs to one account of the deployment, "+
				"but these addresses have accounts in several organizations:\n  %s", storage.ErrConflict, strings.Join(lines, "\n  "))
		}
		return tx.Model(&userRow{}).Where(stale).Updates(map[string]any{"email_unique": gorm.Expr("email_lower")}).Error
	})
	if err == nil {
		s.globalEmails = global
	}
	return wrap("set email scope", err)
}
