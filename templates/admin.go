package templates

import (
	"net/http"
	"time"
)

// Pages of the administration console. Each is html/<name>.html and
// shares html/admin_partials.html (the console's navigation).
const (
	pageAdminMembers   = "admin_members"
	pageAdminNewMember = "admin_member_new"
	pageAdminMember    = "admin_member"
	pageAdminDelete    = "admin_delete"
	pageAdminAudit     = "admin_audit"
	pageAdminSettings  = "admin_settings"
	pageAdminUnlock    = "admin_unlock"
)

// adminPages are the console's pages, parsed with the partials.
var adminPages = []string{pageAdminMembers, pageAdminNewMember, pageAdminMember, pageAdminDelete, pageAdminAudit, pageAdminSettings, pageAdminUnlock}

// adminPartials holds the templates every console page shares.
const adminPartials = "html/admin_partials.html"

// AdminBase holds what every console page has: the organization, the
// signed-in administrator, the navigation and the messages.
type AdminBase struct {
	Base
	// Nav is the current section: "members", "audit" or "settings".
	Nav              string
	OrgName, OrgCode string
	ActorName        string
	// Organizations, for a platform administrator, are the picker's
	// choices (empty for others).
	Organizations []AdminOption
	// Notice is a success message; Error a refusal (catalog keys).
	Notice Message
	Error  Message
}

// AdminOption is one choice of a select: Label is text, not a key.
type AdminOption struct {
	Value, Label string
	Selected     bool
}

// AdminMember is a member as the console lists them.
type AdminMember struct {
	ID, Name, Username, Email string
	// PendingEmail is an address waiting for its verification link.
	PendingEmail string
	// Registered: a verified address and no change waiting.
	Registered bool
	// Status is active, invited, invitation_expired or disabled.
	Status string
	// Role is the role's label.
	Role string
	// LastLogin is the last interactive sign-in, in the organization's
	// time zone; zero when there was none.
	LastLogin time.Time
	URL       string
	// Locked: the dormant lock holds (Status is locked); LockedSince is
	// when it began, in the organization's time zone.
	Locked      bool
	LockedSince time.Time
	// UnlockedUntil is the end of an administrator's unlock that still
	// runs (zero: none), in the organization's time zone.
	UnlockedUntil time.Time
	// MayUnlock: the member is locked and the administrator may unlock them.
	MayUnlock bool
}

// AdminMembersPage is the members list at /admin/members.
type AdminMembersPage struct {
	AdminBase
	ByUsername bool
	Members    []AdminMember
	Total      int
	Page       int
	Pages      int
	// The search and filters, as submitted.
	Search, EmailState, Status string
	// PrevURL and NextURL page through the list (empty at its ends);
	// CSVURL exports what the filters match.
	PrevURL, NextURL, CSVURL string
	// Locked is how many members on the page are locked (the selection
	// form shows when there are any, or when the list is filtered on them).
	Locked int
}

// AdminUnlockPage confirms an unlock of locked members.
type AdminUnlockPage struct {
	AdminBase
	// All: every locked member of the organization; else IDs.
	All     bool
	IDs     []string
	Members []AdminMember
	// Count is how many members the unlock applies to; More how many of
	// them Members does not list.
	Count, More int
	// Until is the end of the unlock, in the organization's time zone.
	Until time.Time
	// BackURL is where cancel leads.
	BackURL string
}

// RenderAdminUnlock writes the confirmation of an unlock.
func (r *Renderer) RenderAdminUnlock(w http.ResponseWriter, status int, p AdminUnlockPage) error {
	p.Base = p.Base.complete("admin.unlock.title")
	return r.render(w, status, pageAdminUnlock, p.Lang, p)
}

// AdminNewMemberPage is the form at /admin/members/new.
type AdminNewMemberPage struct {
	AdminBase
	ByUsername            bool
	Name, Username, Email string
	Roles                 []AdminOption
	// Field names the input Error is about.
	Field      string
	Violations []Message
	Rules      []Message
	// InviteHours is the invitation link's lifetime.
	InviteHours int
	// Password is set by RenderAdminNewMember.
	Password NewPasswordFields
}

// AdminMemberPage is a member's page at /admin/members/{id}, with the
// forms of every action.
type AdminMemberPage struct {
	AdminBase
	ByUsername bool
	Member     AdminMember
	// States of the member that decide which actions show.
	Invited, Disabled, MustChange, EmailVerified bool
	// Self: the page is the administrator's own; MayAct: the rank rule
	// lets the administrator act on the member.
	Self, MayAct bool
	Roles        []AdminOption
	// Section names the form Error belongs to; Field its input.
	Section, Field string
	AuditURL       string
	VerifyMinutes  int
	// Factors are the member's strong factors.
	Factors AdminFactors
}

// AdminFactors are a member's strong factors on their console page.
type AdminFactors struct {
	TOTP bool
	// Passkeys names the member's passkeys.
	Passkeys      []string
	RecoveryCodes int
}

// Any reports whether a reset has anything to remove.
func (f AdminFactors) Any() bool { return f.TOTP || len(f.Passkeys) > 0 || f.RecoveryCodes > 0 }

// AdminDeletePage asks to confirm a deletion.
type AdminDeletePage struct {
	AdminBase
	Member AdminMember
}

// AdminAuditEntry is one event of the audit page.
type AdminAuditEntry struct {
	// Time is in the organization's time zone.
	Time time.Time
	// Actor names the administrator who acted (empty: the member
	// themselves); ActorPlatform, an administrator from outside.
	Actor         string
	ActorPlatform bool
	// Kind is the event's kind; KindKnown when the catalog names it
	// (admin.audit.kind.<kind>).
	Kind      string
	KindKnown bool
	// Member names whom it is about; MemberURL links to their page.
	Member, MemberURL string
	Outcome           string
	Detail, IP        string
}

// AdminAuditPage is the audit log at /admin/audit.
type AdminAuditPage struct {
	AdminBase
	Entries []AdminAuditEntry
	Kinds   []AdminOption
	// Member is the member filtered on (id and name), or empty.
	MemberID, MemberName string
	Page                 int
	PrevURL, NextURL     string
	// ClearURL shows every member's events again.
	ClearURL string
}

// AdminSettingsPage is the organization's settings at /admin/settings.
type AdminSettingsPage struct {
	AdminBase
	Name, Code, TimeZone string
	// MaxMembers is the organization's own limit as the form shows it.
	MaxMembers     string
	Members, Limit int
	// FromDeployment: the limit is the deployment's.
	FromDeployment bool
	Editable       bool
	LimitEditable  bool
	// Field names the input Error is about.
	Field string
	// Zones are suggestions for the time zone field.
	Zones []string
	// AlertChoices are the members who may receive the alerts of sign-in
	// attempts on locked accounts (Value: id, Label: name and role),
	// Selected when they do.
	AlertChoices []AdminOption
}

// RenderAdminMembers writes the members list.
func (r *Renderer) RenderAdminMembers(w http.ResponseWriter, status int, p AdminMembersPage) error {
	p.Base = p.Base.complete("admin.members.title")
	return r.render(w, status, pageAdminMembers, p.Lang, p)
}

// RenderAdminNewMember writes the form that adds a member.
func (r *Renderer) RenderAdminNewMember(w http.ResponseWriter, status int, p AdminNewMemberPage) error {
	p.Base = p.Base.complete("admin.new.title")
	errKey := ""
	if p.Field == "password" {
		errKey = p.Error.Key
	}
	p.Password, _ = newPasswordFields(p.Rules, p.Violations, errKey)
	p.Password.Label, p.Password.Optional = "login.password", true
	if p.Password.Mismatch {
		p.Error = Message{}
	}
	return r.render(w, status, pageAdminNewMember, p.Lang, p)
}

// RenderAdminMember writes a member's page.
func (r *Renderer) RenderAdminMember(w http.ResponseWriter, status int, p AdminMemberPage) error {
	p.Base = p.Base.complete("admin.member.title")
	return r.render(w, status, pageAdminMember, p.Lang, p)
}

// RenderAdminDelete writes the deletion's confirmation.
func (r *Renderer) RenderAdminDelete(w http.ResponseWriter, status int, p AdminDeletePage) error {
	p.Base = p.Base.complete("admin.delete.title")
	return r.render(w, status, pageAdminDelete, p.Lang, p)
}

// RenderAdminAudit writes the audit log.
func (r *Renderer) RenderAdminAudit(w http.ResponseWriter, status int, p AdminAuditPage) error {
	p.Base = p.Base.complete("admin.audit.title")
	return r.render(w, status, pageAdminAudit, p.Lang, p)
}

// RenderAdminSettings writes the settings page.
func (r *Renderer) RenderAdminSettings(w http.ResponseWriter, status int, p AdminSettingsPage) error {
	p.Base = p.Base.complete("admin.settings.title")
	return r.render(w, status, pageAdminSettings, p.Lang, p)
}
