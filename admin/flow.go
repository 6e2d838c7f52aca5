// Package admin is the administration console at /admin: an
// organization's administrators list their members (and export them as
// CSV), add members with an invitation, act on a member (name, account
// name, role, address, password, sessions, unlock, disable, delete),
// unlock locked (dormant) members in bulk, read the
// organization's audit log and edit its settings. Platform administrators
// do the same in any organization.
//
// Handlers parse, call the flow and render; the flow is plain Go over the
// small Store interface declared here, whose member methods all take the
// organization id, so nothing here can read or change a member of another
// organization (storage answers ErrNotFound, which the console answers
// with 404, exactly as for an unknown id). Every change is authorized
// twice: here, for a clear message, and in storage's transaction
// (storage.MemberGuard), which holds under concurrent requests.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/localtime"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// Store is what the console needs from storage.
type Store interface {
	GetOrganization(ctx context.Context, id string) (storage.Organization, error)
	GetOrganizationByCode(ctx context.Context, code string) (storage.Organization, error)
	ListOrganizations(ctx context.Context) ([]storage.Organization, error)
	UpdateOrganization(ctx context.Context, id string, fn func(storage.Organization) (storage.Organization, []storage.AuditEvent, error)) (storage.Organization, error)
	GetMember(ctx context.Context, orgID, userID string) (storage.User, error)
	GetMemberByEmail(ctx context.Context, orgID, email string) (storage.User, error)
	// GetUserByEmail finds an address across the deployment (only in the
	// email sign-in mode, where addresses are unique deployment-wide).
	GetUserByEmail(ctx context.Context, email string) (storage.User, error)
	GetMemberByUsername(ctx context.Context, orgID, username string) (storage.User, error)
	ListMembers(ctx context.Context, f storage.MemberFilter) (storage.MemberPage, error)
	AddMember(ctx context.Context, m storage.NewMember) error
	ChangeMember(ctx context.Context, c storage.MemberChange) (storage.User, storage.SessionEndResult, error)
	UnlockMembers(ctx context.Context, u storage.MemberUnlock) ([]storage.User, error)
	SetAlertRecipients(ctx context.Context, orgID string, userIDs []string, audit []storage.AuditEvent) error
	ListAuditEvents(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error)
	AddAuditEvent(ctx context.Context, e storage.AuditEvent) error
	// A member's strong factors, shown on their page.
	GetTOTP(ctx context.Context, userID string) (storage.TOTPFactor, error)
	ListPasskeys(ctx context.Context, userID string) ([]storage.Passkey, error)
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
}

// Accounts is what the console needs from the sign-in flows (login.Flow):
// the signed-in account, a fresh sign-in, and the links it mails.
type Accounts interface {
	Account(ctx context.Context, sessionToken string) (login.Account, bool, error)
	StartRecentSignIn(ctx context.Context, returnTo string, maxAge time.Duration, uiLocales []string) (string, error)
	InvitationLink(u storage.User, org storage.Organization, lang string, now time.Time) (storage.OneTimeCode, storage.OutboxMail, error)
	VerificationLink(u storage.User, email, lang string, now time.Time) (storage.OneTimeCode, storage.OutboxMail, error)
	ResetRequestMail(u storage.User, org storage.Organization, organization, lang string) (storage.OutboxMail, error)
	// TakeLinkCap counts a mailed link of a kind for a user under the
	// hourly cap; false beyond it.
	TakeLinkCap(ctx context.Context, kind, userID string) (bool, error)
	// NewPassword checks a new password against the policy
	// (login.ErrPasswordMismatch, *login.PolicyError) and hashes it.
	NewPassword(ctx context.Context, subject password.Subject, pw, confirm string) (string, error)
	NewAccountRules() []password.Rule
}

// Mailer composes mails for the outbox and sends them early (mail.Outbox).
type Mailer interface {
	Compose(lang, name string, to mail.Address, data any) (storage.OutboxMail, error)
	SendNow(ctx context.Context, ids ...string)
}

// SessionEnder completes a session end from the configuration (op.Logout),
// for ends written in a member change's transaction.
type SessionEnder interface {
	Prepare(e storage.SessionEnd) storage.SessionEnd
}

// Config configures NewFlow.
type Config struct {
	Store    Store
	Accounts Accounts
	Mailer   Mailer
	Sessions SessionEnder
	// Roles are the declared roles, highest rank first.
	Roles []config.Role
	// Identifier is login.identifier: what members sign in with.
	Identifier string
	// MaxMembers is organizations.max_members (0: no limit), which an
	// organization's own limit overrides.
	MaxMembers int
	// MaxAge is admin.max_age: how recent a sign-in the console needs.
	MaxAge time.Duration
	// DormantAfter is lifecycle.dormant_after (0: the lock is off): the
	// members list shows locked members and administrators unlock them.
	DormantAfter time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// Flow is the console's logic.
type Flow struct{ c Config }

// NewFlow returns the console's flow.
func NewFlow(c Config) *Flow {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Flow{c: c}
}

// Errors the handlers decide on.
var (
	// ErrSignIn: no signed-in account (or a disabled one): sign in.
	ErrSignIn = errors.New("admin: not signed in")
	// ErrStale: the sign-in is older than admin.max_age: sign in again.
	ErrStale = errors.New("admin: the sign-in is too old for the console")
	// ErrNoConsole: the account's role may not manage members (403).
	ErrNoConsole = errors.New("admin: the role may not manage members")
	// ErrNotFound: no such member in the organization (404), whether the
	// id is unknown or another organization's.
	ErrNotFound = errors.New("admin: no such member")
)

// Problem is a refusal the form explains: a catalog key and its
// arguments. Nothing was changed.
type Problem struct {
	Key  string
	Args []any
	// Field names the form field at fault, or empty.
	Field string
}

func (p *Problem) Error() string { return "admin: refused: " + p.Key }

func problem(key string, args ...any) *Problem { return &Problem{Key: key, Args: args} }

// Refusals of storage, as the forms say them.
var refusals = []struct {
	err error
	key string
}{
	{storage.ErrForbidden, "admin.error.forbidden"},
	{storage.ErrLastOwner, "admin.error.last_owner"},
	{storage.ErrMemberLimit, "admin.error.member_limit"},
}

// refusal turns storage's refusals into a Problem, and ErrNotFound into
// ErrNotFound; other errors (storage.ErrAlreadyExists, which the caller
// explains) are wrapped with op.
func refusal(op string, err error) error {
	var p *Problem
	switch {
	case err == nil:
		return nil
	case errors.As(err, &p):
		return p
	case errors.Is(err, storage.ErrNotFound):
		return ErrNotFound
	}
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			return problem(r.key)
		}
	}
	return fmt.Errorf("admin: %s: %w", op, err)
}

// Actor is a signed-in administrator acting in one organization, for one
// request.
type Actor struct {
	User    storage.User
	Session storage.Session
	// Org is the organization the console acts in: the member's own, or
	// the one a platform administrator picked.
	Org storage.Organization
	// Loc is the organization's time zone.
	Loc *time.Location
	// Rank is the actor's rank (0 is the highest): a platform
	// administrator acts with the highest role's rights.
	Rank     int
	Platform bool
	// IP and Lang are the request's (audit events, mails).
	IP, Lang string
}

// Authorize finds the administrator of a session and the organization
// they act in: ErrSignIn without a usable session, ErrStale when it
// signed in longer ago than admin.max_age, ErrNoConsole for a member whose
// role may not manage members. orgID is a platform administrator's pick
// (empty: their own organization); others always act in their own.
func (f *Flow) Authorize(ctx context.Context, sessionToken, orgID string) (Actor, error) {
	acct, ok, err := f.c.Accounts.Account(ctx, sessionToken)
	switch {
	case err != nil:
		return Actor{}, fmt.Errorf("admin: load account: %w", err)
	case !ok || acct.User.InvitedAt != nil:
		return Actor{}, ErrSignIn
	case f.c.Now().Sub(acct.Session.AuthTime) > f.c.MaxAge:
		return Actor{User: acct.User, Session: acct.Session}, ErrStale
	}
	a := Actor{User: acct.User, Session: acct.Session, Platform: acct.User.PlatformAdmin}
	if !a.Platform {
		rank, manage, ok := f.roleRank(a.User.Role)
		if !ok || !manage {
			return a, ErrNoConsole
		}
		a.Rank, orgID = rank, a.User.OrganizationID
	} else if orgID == "" {
		orgID = a.User.OrganizationID
	}
	a.Org, err = f.c.Store.GetOrganization(ctx, orgID)
	if errors.Is(err, storage.ErrNotFound) && a.Platform && orgID != a.User.OrganizationID {
		// A pick that no longer exists: back to their own.
		a.Org, err = f.c.Store.GetOrganization(ctx, a.User.OrganizationID)
	}
	if err != nil {
		return a, fmt.Errorf("admin: load organization: %w", err)
	}
	a.Loc = localtime.Location(a.Org.TimeZone)
	return a, nil
}

// Organizations lists the organizations a platform administrator picks
// from (nothing for others).
func (f *Flow) Organizations(ctx context.Context, a Actor) ([]storage.Organization, error) {
	if !a.Platform {
		return nil, nil
	}
	orgs, err := f.c.Store.ListOrganizations(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin: list organizations: %w", err)
	}
	return orgs, nil
}

// PickOrganization resolves a platform administrator's pick by code.
func (f *Flow) PickOrganization(ctx context.Context, a Actor, code string) (storage.Organization, error) {
	if !a.Platform {
		return storage.Organization{}, ErrNoConsole
	}
	o, err := f.c.Store.GetOrganizationByCode(ctx, code)
	if errors.Is(err, storage.ErrNotFound) {
		return o, ErrNotFound
	}
	return o, err
}

// roleRank is a declared role's rank and whether it may manage members.
func (f *Flow) roleRank(role string) (rank int, manage, ok bool) {
	for i, r := range f.c.Roles {
		if r.Name == role {
			return i, r.ManageMembers, true
		}
	}
	return 0, false, false
}

// rankOf is the rank a member's role gives: an undeclared role (or none)
// ranks below every declared one.
func (f *Flow) rankOf(role string) int {
	if r, _, ok := f.roleRank(role); ok {
		return r
	}
	return len(f.c.Roles)
}

// mayActOn reports whether a may act on a member holding role.
func (f *Flow) mayActOn(a Actor, role string) bool {
	return a.Platform || f.rankOf(role) >= a.Rank
}

// Grantable lists the roles a may give: those at or below their rank.
func (f *Flow) Grantable(a Actor) []config.Role {
	var out []config.Role
	for i, r := range f.c.Roles {
		if a.Platform || i >= a.Rank {
			out = append(out, r)
		}
	}
	return out
}

// mayGrant reports whether a may give role.
func (f *Flow) mayGrant(a Actor, role string) bool {
	if role == "" {
		return len(f.c.Roles) == 0
	}
	r, _, ok := f.roleRank(role)
	return ok && (a.Platform || r >= a.Rank)
}

// MayEditSettings reports whether a may edit the organization's name and
// time zone: a holder of the highest role, or a platform administrator.
func (f *Flow) MayEditSettings(a Actor) bool {
	return a.Platform || (len(f.c.Roles) > 0 && a.Rank == 0)
}

// guard is the storage guard of a's changes.
func (f *Flow) guard(a Actor) *storage.MemberGuard {
	top := ""
	if len(f.c.Roles) > 0 {
		top = f.c.Roles[0].Name
	}
	return &storage.MemberGuard{ActorID: a.User.ID, Rank: f.roleRank, TopRole: top}
}

// limit is the member limit in force in a's organization (0: none).
func (f *Flow) limit(a Actor) int {
	if a.Org.MaxMembers > 0 {
		return a.Org.MaxMembers
	}
	return f.c.MaxMembers
}

// ByUsername reports whether members sign in with an account name.
func (f *Flow) ByUsername() bool { return f.c.Identifier == config.IdentifierOrgUsername }

// hasOrganization reports whether members type their organization's code
// to sign in.
func (f *Flow) hasOrganization() bool {
	return f.c.Identifier != "" && f.c.Identifier != config.IdentifierEmail
}

// RoleLabel is a role's label in lang (the name itself for an undeclared
// role).
func (f *Flow) RoleLabel(role, lang string) string {
	for _, r := range f.c.Roles {
		if r.Name == role {
			return r.Labels.In(lang)
		}
	}
	return role
}

// event is an audit event of a acting on member.
func (a Actor) event(typ, memberID, detail string, now time.Time) storage.AuditEvent {
	return storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: typ, OrganizationID: a.Org.ID, ActorID: a.User.ID,
		UserID: memberID, IP: a.IP, Outcome: "success", Detail: detail}
}
