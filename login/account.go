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
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// AccountClient is the client id of the provider's own pages (/account,
// verification links): a sign-in for them returns to the page instead of
// sending a code to an application. Configured client ids cannot contain
// ':'.
const AccountClient = "sekisho:account"

// AccountConfig configures the account page and email verification.
type AccountConfig struct {
	// BaseURL is the issuer, for the links in mails.
	BaseURL string
	// VerifyTTL is how long a verification link works (10 minutes).
	VerifyTTL time.Duration
	// RequestTTL is how long a sign-in for the provider's own pages may
	// take (lifetimes.auth_request).
	RequestTTL time.Duration
	// PerHour caps the verification links (and invitations) mailed per
	// user per hour.
	PerHour int
	// InviteTTL is how long an invitation link works (invitation.lifetime).
	InviteTTL time.Duration
}

// Errors of the account page.
var (
	// ErrCurrentPassword: the current password is wrong (or checks are
	// throttled).
	ErrCurrentPassword = errors.New("login: wrong current password")
	// ErrBadEmail: not an email address.
	ErrBadEmail = errors.New("login: not an email address")
	// ErrSameEmail: the address is the account's already.
	ErrSameEmail = errors.New("login: the same address")
	// ErrLinkExpired: a verification link expired, was used, or is not
	// this account's.
	ErrLinkExpired = errors.New("login: the link expired or was used")
	// ErrEmailTaken: another account took the address meanwhile.
	ErrEmailTaken = errors.New("login: the address belongs to another account")
)

// IsAccountRequest reports whether a belongs to the provider's own pages.
func IsAccountRequest(a storage.AuthRequest) bool { return a.ClientID == AccountClient }

// StartAccountSignIn creates a sign-in whose end returns to returnTo, a
// path of the provider (the account page, a verification link).
func (f *Flow) StartAccountSignIn(ctx context.Context, returnTo string, uiLocales []string) (string, error) {
	if !localPath(returnTo) {
		return "", fmt.Errorf("login: %q is not a local path", returnTo)
	}
	return f.startReturning(ctx, storage.AuthRequest{ClientID: AccountClient, RedirectURI: returnTo, UILocales: uiLocales})
}

// StartRecentSignIn is StartAccountSignIn for a page that needs a sign-in
// within maxAge (the console's admin.max_age): an SSO session older than
// that cannot answer it, so the password is asked again (and the emailed
// code, when the policy asks for it).
func (f *Flow) StartRecentSignIn(ctx context.Context, returnTo string, maxAge time.Duration, uiLocales []string) (string, error) {
	if !localPath(returnTo) {
		return "", fmt.Errorf("login: %q is not a local path", returnTo)
	}
	return f.startReturning(ctx, storage.AuthRequest{ClientID: AccountClient, RedirectURI: returnTo, UILocales: uiLocales,
		MaxAge: &maxAge})
}

// startReturning stores a sign-in that returns the browser to
// a.RedirectURI when it ends, instead of answering with a code.
func (f *Flow) startReturning(ctx context.Context, a storage.AuthRequest) (string, error) {
	a, err := f.newReturning(ctx, a)
	return a.ID, err
}

// newReturning stores a sign-in that returns to a.RedirectURI and
// returns it.
func (f *Flow) newReturning(ctx context.Context, a storage.AuthRequest) (storage.AuthRequest, error) {
	now := f.c.Now().UTC()
	a.ID, a.Scopes, a.ResponseType = uuid.NewString(), []string{"openid"}, "code"
	a.CreatedAt, a.ExpiresAt = now, now.Add(f.c.Account.RequestTTL)
	if err := f.c.Store.CreateAuthRequest(ctx, a); err != nil {
		return a, fmt.Errorf("login: create sign-in: %w", err)
	}
	return a, nil
}

// localPath: an absolute path on this host ("/account"), never "//host".
func localPath(p string) bool {
	u, err := url.Parse(p)
	return err == nil && strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") &&
		u.Scheme == "" && u.Host == ""
}

// Account is what the account page shows.
type Account struct {
	User storage.User
	// Organization is the user's organization, in the organization
	// sign-in modes (zero in the email mode).
	Organization storage.Organization
	Session      storage.Session
	SignIns      []storage.AuditEvent // recent successful sign-ins, newest first
}

// Account loads the signed-in user of a session cookie; ok is false when
// the browser has no active session.
func (f *Flow) Account(ctx context.Context, sessionToken string) (Account, bool, error) {
	sess, ok := f.Session(ctx, sessionToken)
	if !ok {
		return Account{}, false, nil
	}
	u, err := f.c.Store.GetUser(ctx, sess.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (u.Disabled || f.locked(u, f.c.Now()))) {
		// A locked account's session (one longer than the lock's
		// period) signs in again, and is told.
		return Account{}, false, nil
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("login: load user: %w", err)
	}
	acct := Account{User: u, Session: sess}
	if f.HasOrganization() {
		if acct.Organization, err = f.c.Store.GetOrganization(ctx, u.OrganizationID); err != nil {
			return Account{}, false, fmt.Errorf("login: load organization: %w", err)
		}
	}
	return acct, true, nil
}

// Zone is the time zone of u's organization, in which pages and mails
// show u times (UTC, named as such, when it cannot be read).
func (f *Flow) Zone(ctx context.Context, u storage.User) *time.Location {
	org, err := f.c.Store.GetOrganization(ctx, u.OrganizationID)
	if err != nil {
		f.c.Logger.WarnContext(ctx, "time zone: load organization", "err", err)
		return localtime.Location("")
	}
	return localtime.Location(org.TimeZone)
}

// RecentSignIns lists the user's last successful sign-ins.
func (f *Flow) RecentSignIns(ctx context.Context, userID string, n int) ([]storage.AuditEvent, error) {
	events, err := f.c.Store.ListAuditEvents(ctx, storage.AuditFilter{UserID: userID, Type: "login", Limit: 4 * n})
	if err != nil {
		return nil, fmt.Errorf("login: list sign-ins: %w", err)
	}
	var out []storage.AuditEvent
	for _, e := range events {
		if e.Outcome == "success" && len(out) < n {
			out = append(out, e)
		}
	}
	return out, nil
}

// checkCurrent verifies the account's current password, taken from the
// same throttle as the sign-in forms (a stolen session must not become a
// password oracle).
func (f *Flow) checkCurrent(ctx context.Context, u storage.User, pw, ip string, now time.Time) error {
	name, err := f.nameOf(ctx, u)
	if err != nil {
		return err
	}
	limits := f.passwordLimits(name, ip)
	taken, err := f.takePassword(ctx, limits, now)
	if err != nil {
		return err
	}
	e := storage.AuditEvent{Type: "password_check", OrganizationID: u.OrganizationID, UserID: u.ID, IP: ip, Outcome: "failure",
		Detail: "account_page"}
	if !taken {
		f.c.Passwords.VerifyDummy(ctx, pw)
		e.Detail = "account_page_throttled"
		f.audit(ctx, e, now)
		return ErrCurrentPassword
	}
	ok, _, err := f.c.Passwords.Verify(ctx, u.PasswordHash, pw)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if !ok {
		f.audit(ctx, e, now)
		return ErrCurrentPassword
	}
	f.passwordRight(ctx, limits)
	return nil
}

// PasswordChangeInput is a submission of the account page's password form.
type PasswordChangeInput struct {
	Current, Password, Confirm string
	IP, Lang                   string
}

// ChangePassword sets a new password from the account page: the current
// password is required, the policy applies, the user's other sessions
// end (this one stays), every token the user holds is revoked (offline
// ones included, as after a reset: a changed password often answers a
// compromise) and a "password changed" mail goes out.
func (f *Flow) ChangePassword(ctx context.Context, acct Account, in PasswordChangeInput) (storage.SessionEndResult, error) {
	now := f.c.Now().UTC()
	u := acct.User
	if err := f.checkCurrent(ctx, u, in.Current, in.IP, now); err != nil {
		return storage.SessionEndResult{}, err
	}
	hash, err := f.newPassword(ctx, u, in.Password, in.Confirm)
	if err != nil {
		return storage.SessionEndResult{}, err
	}
	changed, err := f.passwordChangedMail(ctx, in.Lang, u, now, in.IP)
	if err != nil {
		return storage.SessionEndResult{}, err
	}
	end := f.c.Sessions.Prepare(storage.SessionEnd{UserID: u.ID, KeepSessionID: acct.Session.ID, Now: now,
		Reason: storage.EndPasswordChange, RevokeAllTokens: true})
	ended, err := f.c.Store.ChangePassword(ctx, storage.PasswordChange{Now: now, UserID: u.ID, PasswordHash: hash, End: &end, Mail: changed,
		Audit: &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "password_changed", OrganizationID: u.OrganizationID, UserID: u.ID, IP: in.IP,
			Outcome: "success", Detail: "account_page"}})
	if err != nil {
		return ended, fmt.Errorf("login: change password: %w", err)
	}
	f.sendNow(ctx, changed)
	return ended, nil
}

// EmailChangeInput is a submission of the account page's email form.
type EmailChangeInput struct {
	Email, Current string
	IP, Lang       string
}

// ChangeEmail asks for a new address: a verification link goes to it;
// the old address stays until the link is opened, and then hears of the
// change. When the address belongs to another account nothing is sent,
// and the answer is the same (the page must not reveal accounts).
func (f *Flow) ChangeEmail(ctx context.Context, acct Account, in EmailChangeInput) error {
	now := f.c.Now().UTC()
	u := acct.User
	addr, err := parseEmail(in.Email)
	if err != nil {
		return err
	}
	if identifier.Same(addr, u.Email) {
		return ErrSameEmail
	}
	if err := f.checkCurrent(ctx, u, in.Current, in.IP, now); err != nil {
		return err
	}
	if other, err := f.accountByEmail(ctx, u.OrganizationID, addr); err == nil && other.ID != u.ID {
		f.audit(ctx, storage.AuditEvent{Type: "email_change_requested", UserID: u.ID, IP: in.IP, Outcome: "failure", Detail: "taken"}, now)
		return nil
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("login: look up address: %w", err)
	}
	if _, err := f.sendVerification(ctx, u, addr, in.Lang, now); err != nil {
		return err
	}
	f.audit(ctx, storage.AuditEvent{Type: "email_change_requested", UserID: u.ID, IP: in.IP, Outcome: "success"}, now)
	return nil
}

// accountByEmail finds the account holding an address where addresses
// are unique: the deployment (email mode) or the organization.
func (f *Flow) accountByEmail(ctx context.Context, orgID, email string) (storage.User, error) {
	if f.HasOrganization() {
		return f.c.Store.GetMemberByEmail(ctx, orgID, email)
	}
	return f.c.Store.GetUserByEmail(ctx, email)
}

// SendVerification mails a new verification link for the account's
// current address (when it has one, not verified yet).
func (f *Flow) SendVerification(ctx context.Context, acct Account, lang string) error {
	if acct.User.EmailVerified || acct.User.Email == "" {
		return nil
	}
	_, err := f.sendVerification(ctx, acct.User, acct.User.Email, lang, f.c.Now().UTC())
	return err
}

// SendVerificationLink mails a verification link for u's address (a
// user added by an operator).
func (f *Flow) SendVerificationLink(ctx context.Context, u storage.User, lang string) error {
	_, err := f.sendVerification(ctx, u, u.Email, lang, f.c.Now().UTC())
	return err
}

// sendVerification mails a link proving email for u; a newer link voids
// older ones. Beyond PerHour links an hour, nothing is sent (sent is
// false).
func (f *Flow) sendVerification(ctx context.Context, u storage.User, email, lang string, now time.Time) (sent bool, err error) {
	if ok, err := f.withinHourlyCap(ctx, verifyCapKey(u.ID), f.c.Account.PerHour, now); !ok {
		return false, err
	}
	c, m, err := f.VerificationLink(u, email, lang, now)
	if err != nil {
		return false, err
	}
	if err := f.c.Store.CreateCode(ctx, c, &m); err != nil {
		return false, fmt.Errorf("login: store link: %w", err)
	}
	f.c.Mailer.SendNow(ctx, m.ID)
	return true, nil
}

// verifyCapKey is the counter of the verification links mailed for a
// user in an hour (the account page's and the console's).
func verifyCapKey(userID string) string { return "verify:send:" + userID }

// TakeLinkCap counts one more mail of a kind ("verify", "invite",
// "reset_request") for u under the hourly cap of mailed links
// (account.PerHour), taken atomically before the mail is written; false,
// and nothing counted, beyond it.
func (f *Flow) TakeLinkCap(ctx context.Context, kind string, userID string) (bool, error) {
	key := kind + ":send:" + userID
	if kind == "verify" {
		key = verifyCapKey(userID)
	}
	return f.withinHourlyCap(ctx, key, f.c.Account.PerHour, f.c.Now().UTC())
}

// VerificationLink makes a link proving email for u, and its mail; the
// caller stores both (CreateCode, or with an administrator's change).
func (f *Flow) VerificationLink(u storage.User, email, lang string, now time.Time) (storage.OneTimeCode, storage.OutboxMail, error) {
	token := secret.RandomToken(32)
	link := strings.TrimSuffix(f.c.Account.BaseURL, "/") + "/email/verify?token=" + url.QueryEscape(token)
	m, err := f.c.Mailer.Compose(lang, templates.MailVerifyEmail, mail.Address{Name: u.Name, Email: email},
		&templates.VerifyEmailMail{URL: link, ValidMinutes: int(f.c.Account.VerifyTTL / time.Minute)})
	if err != nil {
		return storage.OneTimeCode{}, m, err
	}
	c := storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeVerifyEmail, UserID: u.ID, Email: email,
		TicketHash: f.c.Hasher.Hash("ticket", token), CodeHash: "-", CreatedAt: now, SentAt: now, Sends: 1,
		ExpiresAt: now.Add(f.c.Account.VerifyTTL)}
	return c, m, nil
}

// NewUser is an account an operator adds.
type NewUser struct {
	// Organization is the one the account joins (the zero value: the
	// default organization); its name and code are context words of the
	// password policy.
	Organization storage.Organization
	// Limit is the organization's member limit in force (0: none).
	Limit int
	// Email is optional when Username is given.
	Email, Username, Name, Password string
	// Role is the member's role (a declared one, checked by the caller),
	// or empty.
	Role string
	// Verified marks the address verified; otherwise a verification
	// link is mailed with the new account.
	Verified           bool
	MustChangePassword bool
	// Invite sends an invitation (valid invitation.lifetime) to Email
	// instead of setting Password: the account cannot sign in until the
	// member accepts it and chooses a password.
	Invite bool
	Lang   string // of mails (BCP 47); empty: English, not stored
}

// Errors of adding an account.
var (
	// ErrBadName: a display name with control characters, or too long.
	ErrBadName = errors.New("login: not a valid name")
	// ErrBadUsername: an account name that is empty, too long, or holds
	// spaces or control characters.
	ErrBadUsername = errors.New("login: not a valid account name")
	// ErrUsernameTaken: another member of the organization has the
	// account name.
	ErrUsernameTaken = errors.New("login: the account name belongs to another account")
)

// AddUser creates an account in its organization: the address, account
// name and display name in their canonical forms (ErrBadEmail,
// ErrBadUsername, ErrBadName; an address is required unless an account
// name is given), the password checked by the policy (*PolicyError) and
// hashed, and, when there is an address not marked verified, the
// verification link and its mail, all in one transaction under the
// organization's member limit (storage.ErrMemberLimit). ErrEmailTaken or
// ErrUsernameTaken when another account has the address (in the
// organization, or in the deployment when addresses are unique there)
// or the account name (storage.ErrAlreadyExists when that happens
// concurrently).
func (f *Flow) AddUser(ctx context.Context, in NewUser) (storage.User, error) {
	org := in.Organization
	if org.ID == "" {
		org.ID = storage.DefaultOrganizationID
	}
	var email, username string
	var err error
	if in.Email != "" || in.Username == "" {
		if email, err = parseEmail(in.Email); err != nil {
			return storage.User{}, err
		}
	}
	if in.Username != "" {
		if username, err = identifier.Username(in.Username); err != nil {
			return storage.User{}, ErrBadUsername
		}
	}
	name, err := identifier.Name(in.Name)
	if err != nil {
		return storage.User{}, ErrBadName
	}
	if in.Invite && email == "" {
		return storage.User{}, ErrBadEmail
	}
	u := storage.User{ID: uuid.NewString(), OrganizationID: org.ID, Email: email, Username: username, Name: name, Role: in.Role,
		EmailVerified: email != "" && in.Verified && !in.Invite, MustChangePassword: in.MustChangePassword && !in.Invite, Lang: in.Lang}
	if err := f.checkTaken(ctx, u); err != nil {
		return u, err
	}
	if !in.Invite {
		subject := password.Subject{Email: email, LoginID: username, Name: name, OrganizationName: org.Name, OrganizationCode: org.Code}
		if v := f.c.Policy.Check(in.Password, subject); len(v) > 0 {
			return storage.User{}, &PolicyError{Violations: v}
		}
		norm, _ := password.Normalize(in.Password)
		if u.PasswordHash, err = f.c.Passwords.Hash(ctx, norm); err != nil {
			return storage.User{}, fmt.Errorf("login: hash password: %w", err)
		}
	}
	now := f.c.Now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	event := func(kind string) storage.AuditEvent {
		return storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: kind, OrganizationID: org.ID, UserID: u.ID,
			Outcome: "success", Detail: "cli"}
	}
	m := storage.NewMember{Limit: in.Limit, Audit: []storage.AuditEvent{event("user_added")}}
	lang := in.Lang // "": the mailer's default (ui.default_language)
	var link storage.OneTimeCode
	var mail storage.OutboxMail
	// The first link counts under the hourly cap of its kind, as the
	// resends that may follow do.
	capped := func(kind string) error {
		ok, err := f.TakeLinkCap(ctx, kind, u.ID)
		if err == nil && !ok {
			err = ErrTooManyCodes
		}
		return err
	}
	switch {
	case in.Invite:
		u.InvitedAt = &now
		if err = capped("invite"); err == nil {
			link, mail, err = f.InvitationLink(u, org, lang, now)
		}
		m.Audit = append(m.Audit, event("invitation_sent"))
	case email != "" && !in.Verified:
		if err = capped("verify"); err == nil {
			link, mail, err = f.VerificationLink(u, email, lang, now)
		}
	}
	if err != nil {
		return u, err
	}
	if link.ID != "" {
		m.Code, m.Mails = &link, []storage.OutboxMail{mail}
	}
	m.User = u
	if err := f.c.Store.AddMember(ctx, m); err != nil {
		return u, fmt.Errorf("login: add user: %w", err)
	}
	return u, nil
}

// checkTaken refuses u's address when another account of its scope has
// it (ErrEmailTaken) and its account name when another member of the
// organization has it (ErrUsernameTaken). Addresses are looked up in the
// deployment (found only where they are unique there: the email sign-in
// mode) and in the organization.
func (f *Flow) checkTaken(ctx context.Context, u storage.User) error {
	lookups := []struct {
		get   func() (storage.User, error)
		taken error
	}{
		{func() (storage.User, error) { return f.c.Store.GetUserByEmail(ctx, u.Email) }, ErrEmailTaken},
		{func() (storage.User, error) { return f.c.Store.GetMemberByEmail(ctx, u.OrganizationID, u.Email) }, ErrEmailTaken},
		{func() (storage.User, error) { return f.c.Store.GetMemberByUsername(ctx, u.OrganizationID, u.Username) }, ErrUsernameTaken},
	}
	for i, l := range lookups {
		if (i < 2 && u.Email == "") || (i == 2 && u.Username == "") {
			continue
		}
		other, err := l.get()
		switch {
		case err == nil && other.ID != u.ID:
			return l.taken
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("login: look up account: %w", err)
		}
	}
	return nil
}

// RequestEmailChange is an operator's change of u's address: as on the
// account page, a verification link goes to the new address, which
// replaces the old one only when the link is opened (the old one keeps
// working until then). ErrBadEmail, ErrSameEmail, ErrEmailTaken, and
// ErrTooManyCodes when the hourly cap of links is reached. It returns the
// new address in its canonical form.
func (f *Flow) RequestEmailChange(ctx context.Context, u storage.User, email, lang string) (string, error) {
	addr, err := parseEmail(email)
	if err != nil {
		return "", err
	}
	if identifier.Same(addr, u.Email) {
		return addr, ErrSameEmail
	}
	probe := u
	probe.Email, probe.Username = addr, ""
	if err := f.checkTaken(ctx, probe); err != nil {
		return addr, err
	}
	now := f.c.Now().UTC()
	sent, err := f.sendVerification(ctx, u, addr, lang, now)
	switch {
	case err != nil:
		return addr, err
	case !sent:
		return addr, ErrTooManyCodes
	}
	f.audit(ctx, storage.AuditEvent{Type: "email_change_requested", OrganizationID: u.OrganizationID, UserID: u.ID,
		Outcome: "success", Detail: "cli"}, now)
	return addr, nil
}

// VerifyEmail completes a verification link for the signed-in account:
// the link's address becomes the account's, verified.
func (f *Flow) VerifyEmail(ctx context.Context, acct Account, token, ip, lang string) (storage.User, error) {
	now := f.c.Now().UTC()
	if token == "" {
		return acct.User, ErrLinkExpired
	}
	c, err := f.c.Store.GetCodeByTicket(ctx, f.c.Hasher.Hash("ticket", token))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return acct.User, ErrLinkExpired
	case err != nil:
		return acct.User, fmt.Errorf("login: load link: %w", err)
	case c.Purpose != storage.PurposeVerifyEmail || c.UserID != acct.User.ID || !c.Usable(now, 1):
		return acct.User, ErrLinkExpired
	}
	notice, err := f.emailChangeNotice(ctx, lang, acct.User, c.Email, now)
	if err != nil {
		return acct.User, err
	}
	u, err := f.c.Store.ChangeEmail(ctx, storage.EmailChange{
		Code: &storage.CodeClaim{ID: c.ID, UserID: acct.User.ID, Purpose: storage.PurposeVerifyEmail, MaxFailures: 1}, Now: now, Mail: notice,
		Audit: &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "email_verified", OrganizationID: acct.User.OrganizationID,
			UserID: acct.User.ID, IP: ip, Outcome: "success"}})
	switch {
	case errors.Is(err, storage.ErrAlreadyExists):
		return acct.User, ErrEmailTaken
	case errors.Is(err, storage.ErrAlreadyUsed), errors.Is(err, storage.ErrNotFound):
		return acct.User, ErrLinkExpired
	case err != nil:
		return acct.User, fmt.Errorf("login: verify email: %w", err)
	}
	if notice != nil {
		f.c.Mailer.SendNow(ctx, notice.ID)
	}
	return u, nil
}

// parseEmail returns the canonical form of the address in s
// (identifier.Email), or ErrBadEmail.
func parseEmail(s string) (string, error) {
	addr, err := identifier.Email(s)
	if err != nil {
		return "", ErrBadEmail
	}
	return addr, nil
}

// emailChangeNotice is the mail telling u's current address that the
// account moves to email; nil when the address stays (only its case or
// verification changes), or when u has none mails may go to.
func (f *Flow) emailChangeNotice(ctx context.Context, lang string, u storage.User, email string, now time.Time) (*storage.OutboxMail, error) {
	if identifier.Same(u.Email, email) || !f.mailable(u) {
		return nil, nil
	}
	m, err := f.c.Mailer.Compose(lang, templates.MailEmailChangeNotice, mail.Address{Name: u.Name, Email: u.Email},
		&templates.EmailChangeNoticeMail{NewEmailMasked: MaskEmail(email), Time: now.In(f.Zone(ctx, u))})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// OTPChoice reports whether users choose the emailed step themselves.
func (f *Flow) OTPChoice() bool { return f.c.OTP.Policy == OTPOptional }

// SetOTP turns the emailed sign-in step on or off for the account (policy
// optional only).
func (f *Flow) SetOTP(ctx context.Context, acct Account, on bool, ip string) error {
	if !f.OTPChoice() {
		return nil
	}
	now := f.c.Now().UTC()
	_, err := f.c.Store.UpdateUser(ctx, acct.User.ID, func(u storage.User) (storage.User, error) {
		u.OTPEnabled, u.UpdatedAt = on, now
		return u, nil
	})
	if err != nil {
		return fmt.Errorf("login: set otp: %w", err)
	}
	detail := "off"
	if on {
		detail = "on"
	}
	f.audit(ctx, storage.AuditEvent{Type: "otp_setting", UserID: acct.User.ID, IP: ip, Outcome: "success", Detail: detail}, now)
	return nil
}

// SignOutEverywhere ends every session of the account and revokes every
// token the user holds; the clients are told.
func (f *Flow) SignOutEverywhere(ctx context.Context, acct Account, ip string) (storage.SessionEndResult, error) {
	now := f.c.Now().UTC()
	res, err := f.c.Sessions.EndAndClaim(ctx, storage.SessionEnd{UserID: acct.User.ID, Now: now, Reason: storage.EndRevoked, RevokeAllTokens: true})
	if err != nil {
		return res, fmt.Errorf("login: end sessions: %w", err)
	}
	f.audit(ctx, storage.AuditEvent{Type: "logout", UserID: acct.User.ID, IP: ip, Outcome: "success", Detail: "everywhere"}, now)
	return res, nil
}
