package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// PageSize is how many members, or audit events, a page lists.
const PageSize = 50

// maxSearch bounds the search text (characters).
const maxSearch = 254

// MemberQuery is what the members list shows: a search, filters and a
// page (1-based).
type MemberQuery struct {
	Search     string
	EmailState string // storage.Email*, or empty
	Status     string // storage.Status*, or empty
	Page       int
}

// Clean drops what the list does not know: an unknown filter value, a
// page below 1, a search beyond its length.
func (q MemberQuery) Clean() MemberQuery {
	q.Search = strings.TrimSpace(q.Search)
	if utf8.RuneCountInString(q.Search) > maxSearch {
		q.Search = string([]rune(q.Search)[:maxSearch])
	}
	if q.EmailState != storage.EmailRegistered && q.EmailState != storage.EmailNotRegistered {
		q.EmailState = ""
	}
	switch q.Status {
	case storage.StatusActive, storage.StatusInvited, storage.StatusInviteExpired, storage.StatusDisabled, storage.StatusLocked:
	default:
		q.Status = ""
	}
	q.Page = max(q.Page, 1)
	return q
}

// MemberList is one page of the members list.
type MemberList struct {
	Query   MemberQuery
	Members []storage.Member
	Total   int
	Pages   int
}

// Members lists a page of a's organization's members.
func (f *Flow) Members(ctx context.Context, a Actor, q MemberQuery) (MemberList, error) {
	q = q.Clean()
	now := f.c.Now()
	p, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: a.Org.ID, Search: q.Search, EmailState: q.EmailState,
		Status: q.Status, IdleBefore: f.idleBefore(now), Now: now, Limit: PageSize, Offset: (q.Page - 1) * PageSize})
	if err != nil {
		return MemberList{}, fmt.Errorf("admin: list members: %w", err)
	}
	return MemberList{Query: q, Members: p.Members, Total: p.Total, Pages: max(1, (p.Total+PageSize-1)/PageSize)}, nil
}

// MemberDetail is a member as their page shows them.
type MemberDetail struct {
	storage.Member
	// MayAct: the rank rule lets a act on the member.
	MayAct bool
	// Self: the member is a themselves.
	Self bool
}

// Member loads a member of a's organization: ErrNotFound for an unknown
// id and for another organization's member alike.
func (f *Flow) Member(ctx context.Context, a Actor, id string) (MemberDetail, error) {
	now := f.c.Now()
	p, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: a.Org.ID, UserID: id, IdleBefore: f.idleBefore(now),
		Now: now, Limit: 1})
	if err != nil {
		return MemberDetail{}, fmt.Errorf("admin: load member: %w", err)
	}
	if len(p.Members) == 0 {
		return MemberDetail{}, ErrNotFound
	}
	m := p.Members[0]
	return MemberDetail{Member: m, MayAct: f.mayActOn(a, m.Role), Self: m.ID == a.User.ID}, nil
}

// NewMemberInput is the form that adds a member.
type NewMemberInput struct {
	Name, Username, Email, Role string
	// Password and Confirm, in the organization+username mode, set an
	// initial password (changed at the first sign-in) instead of an
	// invitation.
	Password, Confirm string
}

// PolicyProblem lists the password rules an initial password breaks.
type PolicyProblem struct{ Violations []password.Violation }

func (e *PolicyProblem) Error() string { return "admin: the initial password breaks the policy" }

func fieldProblem(field, key string, args ...any) *Problem {
	return &Problem{Key: key, Args: args, Field: field}
}

// AddMember adds a member to a's organization with the role in (the
// lowest when empty; at most a's rank), under the member limit, in one
// transaction with its mail and audit events: an invitation (valid
// invitation.lifetime), or, in the organization+username mode, an initial
// password the member must change at the first sign-in (and a
// verification link for an address given with it).
func (f *Flow) AddMember(ctx context.Context, a Actor, in NewMemberInput) (storage.User, error) {
	now := f.c.Now().UTC()
	u := storage.User{ID: uuid.NewString(), OrganizationID: a.Org.ID, Lang: a.Lang, CreatedAt: now, UpdatedAt: now}
	var err error
	if u.Name, err = identifier.Name(in.Name); err != nil {
		return u, fieldProblem("name", "admin.error.name")
	} else if u.Name == "" {
		return u, fieldProblem("name", "admin.error.name_required")
	}
	if f.ByUsername() {
		if u.Username, err = identifier.Username(in.Username); err != nil {
			return u, fieldProblem("username", "admin.error.username")
		}
	}
	if strings.TrimSpace(in.Email) != "" {
		if u.Email, err = identifier.Email(in.Email); err != nil {
			return u, fieldProblem("email", "admin.error.email")
		}
	} else if !f.ByUsername() {
		return u, fieldProblem("email", "admin.error.email_required")
	}
	u.Role = in.Role
	if u.Role == "" && len(f.c.Roles) > 0 {
		u.Role = f.c.Roles[len(f.c.Roles)-1].Name
	}
	if !f.mayGrant(a, u.Role) {
		return u, fieldProblem("role", "admin.error.role")
	}
	initial := f.ByUsername() && (in.Password != "" || in.Confirm != "")
	if !initial && u.Email == "" {
		return u, fieldProblem("email", "admin.error.email_or_password")
	}
	if err := f.checkFree(ctx, a, u, ""); err != nil {
		return u, err
	}
	m := storage.NewMember{Limit: f.limit(a), Guard: f.guard(a),
		Audit: []storage.AuditEvent{a.event("member_added", u.ID, u.Role, now)}}
	if initial {
		if u.PasswordHash, err = f.initialPassword(ctx, a, u, in.Password, in.Confirm); err != nil {
			return u, err
		}
		u.MustChangePassword = true
		if u.Email != "" {
			if err := f.takeCap(ctx, "verify", u.ID); err != nil {
				return u, err
			}
			code, mail, err := f.c.Accounts.VerificationLink(u, u.Email, f.lang(a, u), now)
			if err != nil {
				return u, fmt.Errorf("admin: verification link: %w", err)
			}
			m.Code, m.Mails = &code, []storage.OutboxMail{mail}
		}
	} else {
		u.InvitedAt = &now
		// The first invitation counts under the hourly cap, as its
		// resends do.
		if err := f.takeCap(ctx, "invite", u.ID); err != nil {
			return u, err
		}
		code, mail, err := f.c.Accounts.InvitationLink(u, a.Org, f.lang(a, u), now)
		if err != nil {
			return u, fmt.Errorf("admin: invitation: %w", err)
		}
		m.Code, m.Mails = &code, []storage.OutboxMail{mail}
		m.Audit = append(m.Audit, a.event("invitation_sent", u.ID, "", now))
	}
	m.User = u
	err = f.c.Store.AddMember(ctx, m)
	if errors.Is(err, storage.ErrAlreadyExists) {
		// Taken meanwhile, or (email mode) by another organization's
		// account, which this organization is not told about.
		return u, fieldProblem("email", "admin.error.email_unavailable")
	}
	if err := refusal("add member", err); err != nil {
		return u, err
	}
	f.send(ctx, m.Mails)
	return u, nil
}

// checkFree refuses an account name or address another member of a's
// organization holds (except the member exceptID), and, in the email
// sign-in mode (addresses unique across the deployment), an address an
// account of another organization holds, with a neutral answer that
// does not tell which.
func (f *Flow) checkFree(ctx context.Context, a Actor, u storage.User, exceptID string) error {
	for _, c := range []struct {
		value, field, key string
		get               func(ctx context.Context, orgID, value string) (storage.User, error)
	}{
		{u.Username, "username", "admin.error.username_taken", f.c.Store.GetMemberByUsername},
		{u.Email, "email", "admin.error.email_taken", f.c.Store.GetMemberByEmail},
	} {
		if c.value == "" {
			continue
		}
		other, err := c.get(ctx, a.Org.ID, c.value)
		switch {
		case err == nil && other.ID != exceptID:
			return fieldProblem(c.field, c.key)
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("admin: look up %s: %w", c.field, err)
		}
	}
	if u.Email == "" || f.hasOrganization() {
		return nil
	}
	other, err := f.c.Store.GetUserByEmail(ctx, u.Email)
	switch {
	case err == nil && other.OrganizationID != a.Org.ID:
		return fieldProblem("email", "admin.error.email_unavailable")
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("admin: look up email: %w", err)
	}
	return nil
}

// initialPassword checks an initial password (confirmation, policy) and
// hashes it.
func (f *Flow) initialPassword(ctx context.Context, a Actor, u storage.User, pw, confirm string) (string, error) {
	hash, err := f.c.Accounts.NewPassword(ctx, password.Subject{Email: u.Email, LoginID: u.Username, Name: u.Name,
		OrganizationName: a.Org.Name, OrganizationCode: a.Org.Code}, pw, confirm)
	var policy *login.PolicyError
	switch {
	case errors.Is(err, login.ErrPasswordMismatch):
		return "", fieldProblem("password", "reset.error.mismatch")
	case errors.As(err, &policy):
		return "", &PolicyProblem{Violations: policy.Violations}
	case err != nil:
		return "", fmt.Errorf("admin: initial password: %w", err)
	}
	return hash, nil
}

// lang is the language of mails to member u: theirs, or the
// administrator's page language.
func (f *Flow) lang(a Actor, u storage.User) string {
	if u.Lang != "" {
		return u.Lang
	}
	return a.Lang
}

// send sends the mails of a change now (they wait in the outbox).
func (f *Flow) send(ctx context.Context, mails []storage.OutboxMail) {
	ids := make([]string, 0, len(mails))
	for _, m := range mails {
		ids = append(ids, m.ID)
	}
	if len(ids) > 0 {
		f.c.Mailer.SendNow(ctx, ids...)
	}
}

// act applies a change to member id of a's organization: the member is
// loaded (ErrNotFound, as for an unknown id, when it is another
// organization's), the rank rule checked, build makes the change from the
// member as loaded, and storage applies it under the guard in one
// transaction with its mails and audit events, which are sent then.
func (f *Flow) act(ctx context.Context, a Actor, id, op string,
	build func(m storage.User, now time.Time) (storage.MemberChange, error)) (storage.User, storage.SessionEndResult, error) {
	var none storage.SessionEndResult
	m, err := f.c.Store.GetMember(ctx, a.Org.ID, id)
	if err != nil {
		return m, none, refusal("load member", err)
	}
	if !f.mayActOn(a, m.Role) {
		return m, none, problem("admin.error.forbidden")
	}
	now := f.c.Now().UTC()
	c, err := build(m, now)
	if err != nil {
		return m, none, err
	}
	c.OrganizationID, c.UserID, c.Guard, c.Now = a.Org.ID, m.ID, f.guard(a), now
	after, ended, err := f.c.Store.ChangeMember(ctx, c)
	if err := refusal(op, err); err != nil {
		return m, none, err
	}
	f.send(ctx, c.Mails)
	return after, ended, nil
}

// ProfileInput is the form of a member's name, account name and role.
type ProfileInput struct {
	Name, Username, Role string
}

// UpdateProfile changes a member's name, account name (organization+
// username mode) and role (at most a's rank, never the last holder of the
// highest role away from it). It reports whether anything changed.
func (f *Flow) UpdateProfile(ctx context.Context, a Actor, id string, in ProfileInput) (bool, error) {
	changed := false
	_, _, err := f.act(ctx, a, id, "update member", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		name, err := identifier.Name(in.Name)
		if err != nil {
			return storage.MemberChange{}, fieldProblem("name", "admin.error.name")
		} else if name == "" {
			return storage.MemberChange{}, fieldProblem("name", "admin.error.name_required")
		}
		after := m
		after.Name = name
		if f.ByUsername() {
			if after.Username, err = identifier.Username(in.Username); err != nil {
				return storage.MemberChange{}, fieldProblem("username", "admin.error.username")
			}
		}
		if in.Role != "" {
			after.Role = in.Role
		}
		if after.Role != m.Role && !f.mayGrant(a, after.Role) {
			return storage.MemberChange{}, fieldProblem("role", "admin.error.role")
		}
		var audit []storage.AuditEvent
		if after.Name != m.Name {
			audit = append(audit, a.event("name_changed", m.ID, "", now))
		}
		if after.Username != m.Username {
			if err := f.checkFree(ctx, a, storage.User{Username: after.Username}, m.ID); err != nil {
				return storage.MemberChange{}, err
			}
			audit = append(audit, a.event("username_changed", m.ID, m.Username+" → "+after.Username, now))
		}
		if after.Role != m.Role {
			audit = append(audit, a.event("role_changed", m.ID, m.Role+" → "+after.Role, now))
		}
		if len(audit) == 0 {
			return storage.MemberChange{}, errUnchanged
		}
		changed = true
		return storage.MemberChange{Audit: audit, Update: func(u storage.User) (storage.User, error) {
			u.Name, u.Username, u.Role, u.UpdatedAt = after.Name, after.Username, after.Role, now
			return u, nil
		}}, nil
	})
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	if errors.Is(err, storage.ErrAlreadyExists) {
		return false, fieldProblem("username", "admin.error.username_taken")
	}
	return changed, err
}

// errUnchanged: the form changes nothing.
var errUnchanged = errors.New("admin: nothing to change")

// ChangeEmail gives a member a new address. An active member gets a
// verification link at the new address (valid email.verify_lifetime) and
// keeps the old one until it is opened; an invited member's address is
// replaced and a new invitation goes to it (the old one stops working).
// An administrator never marks an address verified. An address another
// member of the organization holds is refused.
// It reports whether an invitation went out.
func (f *Flow) ChangeEmail(ctx context.Context, a Actor, id, email string) (bool, error) {
	addr, err := identifier.Email(email)
	if err != nil {
		return false, fieldProblem("email", "admin.error.email")
	}
	invited := false
	_, _, err = f.act(ctx, a, id, "change email", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		if identifier.Same(addr, m.Email) && m.InvitedAt == nil {
			return storage.MemberChange{}, fieldProblem("email", "admin.error.same_email")
		}
		if err := f.checkFree(ctx, a, storage.User{Email: addr}, m.ID); err != nil {
			return storage.MemberChange{}, err
		}
		detail := identifier.Mask(addr)
		invited = m.InvitedAt != nil
		if invited {
			if err := f.takeCap(ctx, "invite", m.ID); err != nil {
				return storage.MemberChange{}, err
			}
			m.Email, m.EmailVerified = addr, false
			code, mail, err := f.c.Accounts.InvitationLink(m, a.Org, f.lang(a, m), now)
			if err != nil {
				return storage.MemberChange{}, fmt.Errorf("admin: invitation: %w", err)
			}
			return storage.MemberChange{Code: &code, Mails: []storage.OutboxMail{mail},
				Update: func(u storage.User) (storage.User, error) {
					u.Email, u.EmailVerified, u.UpdatedAt = addr, false, now
					return u, nil
				},
				Audit: []storage.AuditEvent{a.event("email_changed", m.ID, detail, now), a.event("invitation_sent", m.ID, "", now)}}, nil
		}
		if err := f.takeCap(ctx, "verify", m.ID); err != nil {
			return storage.MemberChange{}, err
		}
		code, mail, err := f.c.Accounts.VerificationLink(m, addr, f.lang(a, m), now)
		if err != nil {
			return storage.MemberChange{}, fmt.Errorf("admin: verification link: %w", err)
		}
		return storage.MemberChange{Code: &code, Mails: []storage.OutboxMail{mail},
			Audit: []storage.AuditEvent{a.event("email_change_requested", m.ID, detail, now)}}, nil
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return false, fieldProblem("email", "admin.error.email_unavailable")
	}
	return invited && err == nil, err
}

// takeCap counts a mailed link for a member under the hourly cap.
func (f *Flow) takeCap(ctx context.Context, kind, userID string) error {
	ok, err := f.c.Accounts.TakeLinkCap(ctx, kind, userID)
	switch {
	case err != nil:
		return fmt.Errorf("admin: count mails: %w", err)
	case !ok:
		return problem("admin.error.too_many_mails")
	}
	return nil
}

// ResendInvitation mails an invited member a new invitation; older links
// stop working.
func (f *Flow) ResendInvitation(ctx context.Context, a Actor, id string) error {
	_, _, err := f.act(ctx, a, id, "resend invitation", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		if m.InvitedAt == nil || m.Email == "" {
			return storage.MemberChange{}, problem("admin.error.not_invited")
		}
		if err := f.takeCap(ctx, "invite", m.ID); err != nil {
			return storage.MemberChange{}, err
		}
		code, mail, err := f.c.Accounts.InvitationLink(m, a.Org, f.lang(a, m), now)
		if err != nil {
			return storage.MemberChange{}, fmt.Errorf("admin: invitation: %w", err)
		}
		return storage.MemberChange{Code: &code, Mails: []storage.OutboxMail{mail},
			Audit: []storage.AuditEvent{a.event("invitation_sent", m.ID, "resent", now)}}, nil
	})
	return err
}

// RequirePasswordChange makes the member choose a new password at their
// next sign-in.
func (f *Flow) RequirePasswordChange(ctx context.Context, a Actor, id string) error {
	_, _, err := f.act(ctx, a, id, "require password change", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		if m.InvitedAt != nil {
			return storage.MemberChange{}, problem("admin.error.invited")
		}
		return storage.MemberChange{Audit: []storage.AuditEvent{a.event("password_change_required", m.ID, "", now)},
			Update: func(u storage.User) (storage.User, error) {
				u.MustChangePassword, u.UpdatedAt = true, now
				return u, nil
			}}, nil
	})
	return err
}

// SendResetMail mails the member a link that starts the password reset by
// emailed code (their current password works until they finish it).
func (f *Flow) SendResetMail(ctx context.Context, a Actor, id string) error {
	_, _, err := f.act(ctx, a, id, "send reset mail", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		switch {
		case m.InvitedAt != nil:
			return storage.MemberChange{}, problem("admin.error.invited")
		case m.Disabled:
			return storage.MemberChange{}, problem("admin.error.disabled")
		case m.Email == "" || (f.ByUsername() && !m.EmailVerified):
			// Without a registered address in the account-name mode, a
			// member cannot reset by mail.
			return storage.MemberChange{}, problem("admin.error.no_email")
		}
		if err := f.takeCap(ctx, "reset_request", m.ID); err != nil {
			return storage.MemberChange{}, err
		}
		code := ""
		if f.hasOrganization() {
			code = a.Org.Code
		}
		mail, err := f.c.Accounts.ResetRequestMail(m, a.Org, code, f.lang(a, m))
		if err != nil {
			return storage.MemberChange{}, fmt.Errorf("admin: reset mail: %w", err)
		}
		return storage.MemberChange{Mails: []storage.OutboxMail{mail},
			Audit: []storage.AuditEvent{a.event("password_reset_sent", m.ID, "", now)}}, nil
	})
	return err
}

// SignOutEverywhere ends every session of the member and revokes every
// token they hold; the result names the clients to tell.
func (f *Flow) SignOutEverywhere(ctx context.Context, a Actor, id string) (storage.SessionEndResult, error) {
	_, ended, err := f.act(ctx, a, id, "sign out member", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		end := f.c.Sessions.Prepare(storage.SessionEnd{UserID: m.ID, Now: now, Reason: storage.EndRevoked, RevokeAllTokens: true})
		return storage.MemberChange{End: &end, Audit: []storage.AuditEvent{a.event("sessions_revoked", m.ID, "", now)}}, nil
	})
	return ended, err
}

// SetDisabled disables the member (every session ends, every token is
// revoked; the result names the clients to tell) or enables them again.
// An administrator cannot disable themselves here.
func (f *Flow) SetDisabled(ctx context.Context, a Actor, id string, disabled bool) (storage.SessionEndResult, error) {
	_, ended, err := f.act(ctx, a, id, "disable member", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		if m.ID == a.User.ID {
			return storage.MemberChange{}, problem("admin.error.self")
		}
		if m.Disabled == disabled {
			return storage.MemberChange{}, errUnchanged
		}
		c := storage.MemberChange{Update: func(u storage.User) (storage.User, error) {
			u.Disabled, u.UpdatedAt = disabled, now
			return u, nil
		}}
		if disabled {
			end := f.c.Sessions.Prepare(storage.SessionEnd{UserID: m.ID, Now: now, Reason: storage.EndDisabled, RevokeAllTokens: true})
			c.End = &end
			c.Audit = []storage.AuditEvent{a.event("user_disable", m.ID, "", now)}
		} else {
			c.Audit = []storage.AuditEvent{a.event("user_enable", m.ID, "", now)}
		}
		return c, nil
	})
	if errors.Is(err, errUnchanged) {
		return ended, nil
	}
	return ended, err
}

// Delete deletes the member: every session ends, every token is revoked
// (the result names the clients to tell), and a registered address gets a
// notice. An administrator cannot delete themselves here.
func (f *Flow) Delete(ctx context.Context, a Actor, id string) (storage.SessionEndResult, error) {
	_, ended, err := f.act(ctx, a, id, "delete member", func(m storage.User, now time.Time) (storage.MemberChange, error) {
		if m.ID == a.User.ID {
			return storage.MemberChange{}, problem("admin.error.self")
		}
		end := f.c.Sessions.Prepare(storage.SessionEnd{UserID: m.ID, Now: now, Reason: storage.EndDeleted, RevokeAllTokens: true})
		// The event keeps the name: the member is gone from the list.
		c := storage.MemberChange{Delete: true, End: &end, Audit: []storage.AuditEvent{a.event("user_delete", m.ID, m.Name, now)}}
		if m.Email != "" && m.EmailVerified {
			notice, err := f.c.Mailer.Compose(f.lang(a, m), templates.MailAccountDeleted, mail.Address{Name: m.Name, Email: m.Email},
				&templates.AccountDeletedMail{OrganizationName: a.Org.Name, Time: now.In(a.Loc)})
			if err != nil {
				return c, fmt.Errorf("admin: deletion notice: %w", err)
			}
			c.Mails = []storage.OutboxMail{notice}
		}
		return c, nil
	})
	return ended, err
}
