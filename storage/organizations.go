package storage

import (
	"context"
	"errors"
	"time"
)

// DefaultOrganizationID is the organization with code "default" that
// every account created before organizations existed belongs to, and
// that an account created without one joins.
const DefaultOrganizationID = "00000000-0000-4000-8000-000000000001"

// Errors of membership changes.
var (
	// ErrMemberLimit: the organization has as many members as it may.
	ErrMemberLimit = errors.New("storage: the organization's member limit is reached")
	// ErrLastOwner: the change would leave the organization without an
	// active member holding the highest role.
	ErrLastOwner = errors.New("storage: the last holder of the highest role")
	// ErrForbidden: the acting member may not make the change (their rank
	// is below the member's or the role's, or they may not manage
	// members, or they are disabled).
	ErrForbidden = errors.New("storage: not allowed for the acting member")
)

// Organization is a customer of the deployment: a company, a facility, a
// customer account under one login ID.
type Organization struct {
	ID   string // UUID
	Code string // what people type (canonical form); unique case-insensitively
	Name string
	// TimeZone is an IANA name; times shown to its members use it.
	TimeZone string
	// MaxMembers is the organization's own member limit; 0: the
	// deployment's (organizations.max_members), if any.
	MaxMembers int
	// BrandNameJA and BrandNameEN are the organization's own brand name,
	// shown instead of the deployment's (branding.name) on its pages;
	// empty: the deployment's.
	BrandNameJA, BrandNameEN string
	// LogoType and LogoHash describe the organization's own logo (its
	// media type and the short hash of its content, which versions its
	// URL), set by SetOrganizationLogo; empty: the deployment's.
	LogoType, LogoHash string
	// MFAPolicy is the organization's mfa.policy (off, optional,
	// required); empty: the deployment's.
	MFAPolicy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrganizationStore keeps organizations.
type OrganizationStore interface {
	// CreateOrganization stores o; ErrAlreadyExists when its code (or id)
	// is taken.
	CreateOrganization(ctx context.Context, o Organization) error
	GetOrganization(ctx context.Context, id string) (Organization, error)
	// GetOrganizationByCode finds the organization whose code has the
	// same key (identifier.UsernameKey).
	GetOrganizationByCode(ctx context.Context, code string) (Organization, error)
	// ListOrganizations returns every organization, by code.
	ListOrganizations(ctx context.Context) ([]Organization, error)
	// UpdateOrganization loads, calls fn and stores the organization with
	// the audit events fn returns, in one transaction: never a change
	// without its events, nor events without the change.
	UpdateOrganization(ctx context.Context, id string, fn func(Organization) (Organization, []AuditEvent, error)) (Organization, error)
	// SetOrganizationLogo stores the organization's logo (data of
	// mediaType, versioned by hash), or removes it when data is nil, with
	// the audit event, in one transaction; ErrNotFound for an unknown
	// organization.
	SetOrganizationLogo(ctx context.Context, id string, data []byte, mediaType, hash string, e AuditEvent) error
	// GetOrganizationLogo returns the organization's logo and its media
	// type; ErrNotFound when it has none.
	GetOrganizationLogo(ctx context.Context, id string) (data []byte, mediaType string, err error)
}

// Member states of an address.
const (
	// EmailRegistered: a verified address and no change waiting.
	EmailRegistered = "registered"
	// EmailNotRegistered: no address, an unverified one, or a change
	// waiting for its link.
	EmailNotRegistered = "not_registered"
)

// Member statuses.
const (
	StatusActive        = "active"
	StatusInvited       = "invited"
	StatusInviteExpired = "invitation_expired"
	StatusDisabled      = "disabled"
	// StatusLocked: an active account locked by the dormant rule
	// (MemberFilter.IdleBefore).
	StatusLocked = "locked"
)

// PurposeInvite is the purpose of a one-time code that is an invitation
// link.
const PurposeInvite = "invite"

// PurposeUnlock is the purpose of a one-time code that is the
// identity-confirmation link a locked (dormant) account is mailed.
const PurposeUnlock = "unlock"

// Member is a user as the organization's console lists them.
type Member struct {
	User
	EmailState string // EmailRegistered or EmailNotRegistered
	Status     string // Status*
	// PendingEmail is the address a change waits to verify, or empty.
	PendingEmail string
}

// MemberFilter selects members of one organization.
type MemberFilter struct {
	OrganizationID string // required
	// UserID, when set, selects that member only (a member's page).
	UserID string
	// Search matches name, account name or email (case-insensitively,
	// part of it).
	Search     string
	EmailState string // Email*, or empty for all
	Status     string // Status*, or empty for all
	// IdleBefore, when set, is the dormant rule's cutoff (Now minus
	// lifecycle.dormant_after): an active account whose idle period
	// started at or before it, and whose administrator's unlock (if any)
	// has ended by Now, has StatusLocked. Zero: the lock is off and no
	// account is locked.
	IdleBefore time.Time
	// Roles, when set, selects members holding one of these roles.
	Roles []string
	// DormantAlerts selects the members who receive dormant alerts.
	DormantAlerts bool
	Now           time.Time
	Limit         int // 0 means 50
	Offset        int
}

// MemberPage is one page of a member list and the number of all matches.
type MemberPage struct {
	Members []Member
	Total   int
}

// MemberGuard says who acts on a member and by which rules, checked in
// the change's transaction against the stored rows (so a concurrent
// change of the actor's own role cannot slip through).
type MemberGuard struct {
	// ActorID is the acting account: a member of the organization who may
	// manage members, or a platform administrator.
	ActorID string
	// Operator: the deployment's operator acts (the command line), not an
	// account. There is no actor to check and the rank rule does not
	// apply; the last-owner rule (TopRole) still does. ActorID is ignored.
	Operator bool
	// Rank gives a role's rank (0 is the highest) and whether it may
	// manage members; ok is false for a role the configuration does not
	// declare.
	Rank func(role string) (rank int, manage, ok bool)
	// TopRole is the highest role: its last active holder stays.
	TopRole string
}

// MemberChange is one administrative change of a member, applied in one
// transaction with what it writes.
type MemberChange struct {
	OrganizationID string
	UserID         string
	// Guard, when set, authorizes the change (ErrForbidden).
	Guard *MemberGuard
	// Update, when set, changes the member (the organization and id stay).
	Update func(User) (User, error)
	// Delete removes the member (and revokes every token of theirs).
	Delete bool
	// Code, when set, is stored, voiding the member's other unused codes
	// of its purpose (an invitation resent, a reset mail).
	Code *OneTimeCode
	// End, when set, ends sessions of the member (sign out everywhere,
	// disable, delete), before the change, writing the back-channel
	// deliveries it asks for.
	End *SessionEnd
	// ResetFactors removes the member's strong factors: the authenticator
	// app, every passkey and the recovery codes (an administrator's reset
	// for a member who lost them).
	ResetFactors bool
	Mails        []OutboxMail
	Audit        []AuditEvent
	Now          time.Time
	// TopRoleFloor is checked when the change ends an active holder of
	// Guard.TopRole (ErrLastOwner); it needs Guard.
}

// NewMember is an account an administrator or operator adds.
type NewMember struct {
	User User
	// Limit is the organization's member limit in force (0: none).
	Limit int
	// Guard, when set, authorizes the addition of the member's role.
	Guard *MemberGuard
	// Code, when set, is the member's invitation or verification link.
	Code  *OneTimeCode
	Mails []OutboxMail
	Audit []AuditEvent
}

// MemberStore keeps organizations' members. Every method takes the
// organization id and never reads or changes a member of another
// organization (ErrNotFound, as for an unknown id).
type MemberStore interface {
	GetMember(ctx context.Context, orgID, userID string) (User, error)
	GetMemberByEmail(ctx context.Context, orgID, email string) (User, error)
	GetMemberByUsername(ctx context.Context, orgID, username string) (User, error)
	ListMembers(ctx context.Context, f MemberFilter) (MemberPage, error)
	// AddMember creates the member, its code and mails, under the member
	// limit (ErrMemberLimit) and the guard, in one transaction:
	// ErrAlreadyExists when the address or account name is taken.
	AddMember(ctx context.Context, m NewMember) error
	// ChangeMember applies c in one transaction and returns the member as
	// it is after (the zero User after a deletion) and the sessions it
	// ended.
	ChangeMember(ctx context.Context, c MemberChange) (User, SessionEndResult, error)
	// MarkDormant marks, in one transaction, up to d.Limit accounts the
	// dormant rule locks at d.Now (idle since d.IdleBefore or earlier,
	// any administrator's unlock over; not disabled, not invited) and not
	// marked yet: DormantAt is set, d.Audit's event is written for each,
	// and with d.End each one's sessions end and every token of theirs is
	// revoked (back-channel deliveries written). It first clears the mark
	// of accounts the rule no longer locks (a sign-in, an unlock). An
	// account is marked once, on one replica: rows another transaction
	// holds are skipped.
	MarkDormant(ctx context.Context, d DormantSweep) (DormantResult, error)
	// SetAlertRecipients makes the members userIDs (of orgID, every one
	// of them) the organization's recipients of dormant alerts, and no
	// one else, with the audit events, in one transaction: ErrNotFound
	// when an id is not a member of orgID, nothing changed.
	SetAlertRecipients(ctx context.Context, orgID string, userIDs []string, audit []AuditEvent) error
	// UnlockMembers lifts the dormant lock of members of u.OrganizationID
	// in one transaction: each target the rule locks at u.Now gets
	// UnlockedUntil = u.Until, loses its DormantAt mark and gets u.Audit's
	// event; LastLoginAt does not move. Targets the rule does not lock are
	// left as they are. With u.UserIDs, every id must be a member of the
	// organization (ErrNotFound, nothing changed) the guard lets the actor
	// act on (ErrForbidden, nothing changed); with u.All, the targets are
	// every locked member the actor may act on. It returns the members
	// unlocked, as they are after.
	UnlockMembers(ctx context.Context, u MemberUnlock) ([]User, error)
	// SetEmailScope makes addresses unique across the deployment (global,
	// the "email" sign-in mode) or within each organization only. Going
	// global fails, changing nothing, when two organizations hold the same
	// address: the error lists them.
	SetEmailScope(ctx context.Context, global bool) error
}

// DormantSweep is the input of MarkDormant.
type DormantSweep struct {
	// IdleBefore is Now minus lifecycle.dormant_after.
	IdleBefore time.Time
	Now        time.Time
	Limit      int // 0 means 100
	// End, when set, is the session end each marked account gets
	// (UserID, RevokeAllTokens and Now filled in per account).
	End *SessionEnd
	// Audit is the event written for each marked account (ID, Time,
	// UserID and OrganizationID filled in when empty).
	Audit AuditEvent
}

// DormantResult is what MarkDormant did.
type DormantResult struct {
	Marked  []User // the accounts marked, as they are after
	Cleared int    // marks removed from accounts the rule no longer locks
	Ended   SessionEndResult
}

// MemberUnlock is the input of UnlockMembers: an administrator's (or the
// operator's) unlock of locked members.
type MemberUnlock struct {
	OrganizationID string
	// UserIDs are the selected members; ignored with All.
	UserIDs []string
	// All: every member of the organization the rule locks.
	All bool
	// IdleBefore is Now minus lifecycle.dormant_after (zero: the lock is
	// off and nobody is locked).
	IdleBefore time.Time
	Now        time.Time
	// Until is the end of the unlock: 24:00 of Now's day in the
	// organization's time zone.
	Until time.Time
	// Guard, when set, authorizes the unlock (the rank rule, ErrForbidden).
	Guard *MemberGuard
	// Audit is the event written for each member unlocked (ID, Time,
	// UserID and OrganizationID filled in when empty).
	Audit AuditEvent
}
