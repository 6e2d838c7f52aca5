package login

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/localtime"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// ErrInvitationExpired: an invitation link that expired, was used, was
// replaced by a newer one, or names an account that is no longer invited
// at that address. The member asks their administrator for a new one.
var ErrInvitationExpired = errors.New("login: the invitation expired or was used")

// InvitationLink makes an invitation for u, a member of org invited by an
// administrator: a one-time link (storage.PurposeInvite, for u's address,
// valid account.InviteTTL, stored only as a keyed hash) and its mail in
// lang. The caller stores both with the member (storage.NewMember or
// storage.MemberChange), which voids the member's older links.
func (f *Flow) InvitationLink(u storage.User, org storage.Organization, lang string, now time.Time) (storage.OneTimeCode, storage.OutboxMail, error) {
	token := secret.RandomToken(32)
	link := strings.TrimSuffix(f.c.Account.BaseURL, "/") + "/invite?token=" + url.QueryEscape(token)
	ttl := f.c.Account.InviteTTL
	expires := now.Add(ttl)
	expires = expires.In(localtime.Location(org.TimeZone))
	m, err := f.c.Mailer.Compose(lang, templates.MailInvitation, mail.Address{Name: u.Name, Email: u.Email},
		&templates.InvitationMail{OrganizationName: org.Name, Username: u.Username, URL: link, Expires: expires,
			ValidHours: int(ttl / time.Hour)})
	if err != nil {
		return storage.OneTimeCode{}, m, err
	}
	c := storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeInvite, UserID: u.ID, Email: u.Email,
		TicketHash: f.c.Hasher.Hash("ticket", token), CodeHash: "-", CreatedAt: now, SentAt: now, Sends: 1,
		ExpiresAt: now.Add(ttl)}
	return c, m, nil
}

// ResetRequestMail is the mail an administrator sends to ask member u of
// org to set a new password: a link that starts the ordinary reset by
// emailed code for u's address (nothing secret in it; the reset's own
// caps and answers apply when it is opened). organization, when set, is
// the code the reset form of the organization modes needs.
func (f *Flow) ResetRequestMail(u storage.User, org storage.Organization, organization, lang string) (storage.OutboxMail, error) {
	q := url.Values{"login_hint": {u.Email}, "ui_locales": {lang}}
	if organization != "" {
		q.Set("organization", organization)
	}
	link := strings.TrimSuffix(f.c.Account.BaseURL, "/") + "/reset?" + q.Encode()
	return f.c.Mailer.Compose(lang, templates.MailResetRequest, mail.Address{Name: u.Name, Email: u.Email},
		&templates.ResetRequestMail{OrganizationName: org.Name, URL: link})
}

// Invitation is a usable invitation, as its page shows it.
type Invitation struct {
	User         storage.User
	Organization storage.Organization
	Code         storage.OneTimeCode
}

// Invitation loads the invitation a link's token names:
// ErrInvitationExpired unless it is usable now, for an account that is
// still invited, enabled, at the address the link was sent to.
func (f *Flow) Invitation(ctx context.Context, token string) (Invitation, error) {
	if token == "" {
		return Invitation{}, ErrInvitationExpired
	}
	c, err := f.c.Store.GetCodeByTicket(ctx, f.c.Hasher.Hash("ticket", token))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Invitation{}, ErrInvitationExpired
	case err != nil:
		return Invitation{}, fmt.Errorf("login: load invitation: %w", err)
	case c.Purpose != storage.PurposeInvite || !c.Usable(f.c.Now(), 1):
		return Invitation{}, ErrInvitationExpired
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Invitation{}, ErrInvitationExpired
	case err != nil:
		return Invitation{}, fmt.Errorf("login: load user: %w", err)
	case u.InvitedAt == nil || u.Disabled || !identifier.Same(u.Email, c.Email):
		return Invitation{}, ErrInvitationExpired
	}
	org, err := f.c.Store.GetOrganization(ctx, u.OrganizationID)
	if err != nil {
		return Invitation{}, fmt.Errorf("login: load organization: %w", err)
	}
	return Invitation{User: u, Organization: org, Code: c}, nil
}

// InvitationInput is a submission of the invitation page.
type InvitationInput struct {
	Token             string
	Password, Confirm string
	IP, UserAgent     string
	SessionToken      string // the browser's session cookie, if any
	DeviceToken       string // the browser's device cookie, if any
	Lang              string // of mails
}

// AcceptInvitation sets the invited member's password (policy applied),
// spends the link, verifies the address (the link proved the mailbox),
// ends the invitation and records the sign-in, in one change; then signs
// the member in with a new session whose sign-in returns to /account.
// ErrInvitationExpired when the link is no longer usable, nothing
// changed; *PolicyError or ErrPasswordMismatch for a password to fix.
func (f *Flow) AcceptInvitation(ctx context.Context, in InvitationInput) (SignedIn, error) {
	inv, err := f.Invitation(ctx, in.Token)
	if err != nil {
		return SignedIn{}, err
	}
	u := inv.User
	hash, err := f.newPassword(ctx, u, in.Password, in.Confirm)
	if err != nil {
		return SignedIn{}, err
	}
	a, err := f.newReturning(ctx, storage.AuthRequest{ClientID: AccountClient, RedirectURI: "/account", UILocales: []string{in.Lang}})
	if err != nil {
		return SignedIn{}, err
	}
	now := f.c.Now().UTC()
	_, err = f.c.Store.ChangePassword(ctx, storage.PasswordChange{
		Code: &storage.CodeClaim{ID: inv.Code.ID, UserID: u.ID, Purpose: storage.PurposeInvite, MaxFailures: 1},
		Now:  now, UserID: u.ID, PasswordHash: hash, VerifyEmail: true, AcceptInvitation: true,
		Audit: &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "invitation_accepted", OrganizationID: u.OrganizationID,
			UserID: u.ID, IP: in.IP, Outcome: "success"}})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed), errors.Is(err, storage.ErrNotFound):
		return SignedIn{}, ErrInvitationExpired
	case err != nil:
		return SignedIn{}, fmt.Errorf("login: accept invitation: %w", err)
	}
	u.PasswordHash, u.EmailVerified, u.InvitedAt, u.MustChangePassword, u.LastLoginAt = hash, true, nil, false, &now
	// The link proved the mailbox, as a reset code does.
	s := f.stepSignIn(ctx, a, u, []string{AMRPassword, AMROTP}, Step{IP: in.IP, UserAgent: in.UserAgent,
		SessionToken: in.SessionToken, DeviceToken: in.DeviceToken, Lang: in.Lang})
	s.notify = false
	return f.completeAfterMailbox(ctx, s, now)
}
