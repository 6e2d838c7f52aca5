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
	"github.com/sekisho/sekisho/lifecycle"
	"github.com/sekisho/sekisho/localtime"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// LockConfig configures the dormant-account lock at sign-in
// (lifecycle.*).
type LockConfig struct {
	// After is lifecycle.dormant_after; 0: the lock is off.
	After time.Duration
	// LinkTTL is how long an unlock link works
	// (lifecycle.unlock_link_lifetime).
	LinkTTL time.Duration
	// ManagerRoles are the roles that may manage members: an account
	// without an address is told to contact their holders.
	ManagerRoles []string
}

// Audit event types of the lock at sign-in.
const (
	EventDormantAttempt = "dormant_signin_attempt"
	EventUnlockLinkSent = "unlock_link_sent"
	EventUnlocked       = "account_unlocked"
	EventDormantAlert   = "dormant_alert_sent"
)

// maxAdministratorsShown is how many administrators' names the page of a
// locked account without an address lists.
const maxAdministratorsShown = 5

// alertWindow: at most one alert per locked account in this period.
const alertWindow = 24 * time.Hour

// ErrUnlockExpired: an unlock link that expired, was used, or was
// replaced by a newer mail. The user signs in again to get a new one.
var ErrUnlockExpired = errors.New("login: the unlock link expired or was used")

// LockedError answers a right password of an account that the dormant
// rule locks: nothing was signed in; it says what happens next.
type LockedError struct {
	// Mailed: an identity-confirmation mail with an unlock link went to
	// MaskedEmail, valid ValidHours.
	Mailed      bool
	MaskedEmail string
	ValidHours  int
	// Limited: the hourly cap of mails is reached; no mail now.
	Limited bool
	// NoAddress: the account has no address to mail; Administrators are
	// the names of up to five members who may manage members.
	NoAddress      bool
	Administrators []string
}

func (e *LockedError) Error() string { return "login: the account is locked (dormant)" }

// locked reports whether the dormant rule locks u at now.
func (f *Flow) locked(u storage.User, now time.Time) bool {
	return lifecycle.Locked(u, now, f.c.Lock.After)
}

// unlockLink loads the usable unlock link a token names, for an enabled
// account still at the address it was sent to: ErrUnlockExpired
// otherwise.
func (f *Flow) unlockLink(ctx context.Context, token string) (storage.OneTimeCode, storage.User, error) {
	if token == "" {
		return storage.OneTimeCode{}, storage.User{}, ErrUnlockExpired
	}
	c, err := f.c.Store.GetCodeByTicket(ctx, f.c.Hasher.Hash("ticket", token))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return c, storage.User{}, ErrUnlockExpired
	case err != nil:
		return c, storage.User{}, fmt.Errorf("login: load unlock link: %w", err)
	case c.Purpose != storage.PurposeUnlock || !c.Usable(f.c.Now(), 1):
		return c, storage.User{}, ErrUnlockExpired
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return c, u, ErrUnlockExpired
	case err != nil:
		return c, u, fmt.Errorf("login: load user: %w", err)
	case u.Disabled || !identifier.Same(u.Email, c.Email):
		return c, u, ErrUnlockExpired
	}
	return c, u, nil
}

// UnlockLinkAccount reports whether token names a usable unlock link (the
// sign-in page shows its notice) and, where accounts are named by their
// address, the address the link was mailed to (the form is filled with
// it, as when the link starts a new sign-in).
func (f *Flow) UnlockLinkAccount(ctx context.Context, token string) (email string, ok bool) {
	_, u, err := f.unlockLink(ctx, token)
	if err != nil {
		return "", false
	}
	if f.ByUsername() {
		return "", true
	}
	return u.Email, true
}

// OpenedUnlock is an unlock link opened: the sign-in it continues and
// how long the link still works.
type OpenedUnlock struct {
	AuthRequestID string
	ExpiresAt     time.Time
	// Legacy: the account has not migrated and the legacy product's form
	// is open. Only the product's password is known, so the link leads to
	// that form (the attempt that mailed it was made there).
	Legacy bool
}

// OpenUnlockLink checks an unlock link (ErrUnlockExpired when it is no
// longer usable, nothing changed) and returns the sign-in to show: the
// application's sign-in the lock interrupted when it can still be
// finished, otherwise a new one that returns to the account page. The
// link is spent only by the sign-in that unlocks.
func (f *Flow) OpenUnlockLink(ctx context.Context, token, lang string) (OpenedUnlock, error) {
	c, u, err := f.unlockLink(ctx, token)
	if err != nil {
		return OpenedUnlock{}, err
	}
	out := OpenedUnlock{ExpiresAt: c.ExpiresAt, Legacy: u.Imported() && f.LegacyWindow()}
	if c.AuthRequestID != "" {
		if a, err := f.request(ctx, c.AuthRequestID); err == nil && a.CompletedAt == nil {
			out.AuthRequestID = a.ID
			return out, nil
		}
	}
	a := storage.AuthRequest{ClientID: AccountClient, RedirectURI: "/account", UILocales: []string{lang}}
	if !f.ByUsername() {
		a.LoginHint = u.Email
	}
	a, err = f.newReturning(ctx, a)
	out.AuthRequestID = a.ID
	return out, err
}

// lockedOut answers a right password of a locked account: the attempt is
// recorded, the chosen administrators are alerted, and the owner gets an
// unlock link by mail, or the names of administrators to contact.
func (t *attempt) lockedOut(u storage.User) (SignedIn, error) {
	f, ctx := t.f, t.ctx
	f.passwordRight(ctx, t.limits)
	e := t.audit
	e.Type, e.OrganizationID, e.UserID, e.Outcome, e.Detail = EventDormantAttempt, u.OrganizationID, u.ID, "failure", "locked"
	f.audit(ctx, e, t.now)
	lang := "" // no request: the mailer's default (ui.default_language)
	if t.in.LangOf != nil {
		lang = t.in.LangOf(t.a.UILocales)
	}
	f.alertDormant(ctx, u, t.a.ClientID, t.in.IP, t.in.UserAgent, lang, t.now)
	le := &LockedError{}
	if !f.mailable(u) {
		le.NoAddress = true
		names, err := f.administrators(ctx, u, t.now)
		if err != nil {
			return SignedIn{Request: t.a}, err
		}
		le.Administrators = names
		return SignedIn{Request: t.a}, le
	}
	le.MaskedEmail, le.ValidHours = MaskEmail(u.Email), int(f.c.Lock.LinkTTL/time.Hour)
	err := f.sendUnlockLink(ctx, t.a, u, lang, t.in.IP, t.now)
	switch {
	case errors.Is(err, ErrTooManyCodes):
		le.Limited = true
	case err != nil:
		return SignedIn{Request: t.a}, err
	default:
		le.Mailed = true
	}
	return SignedIn{Request: t.a}, le
}

// sendUnlockLink mails u an identity-confirmation link that unlocks the
// account by a sign-in (valid LinkTTL, stored as a keyed hash, voiding
// the older links), counted first against the hourly cap of mailed codes
// (ErrTooManyCodes).
func (f *Flow) sendUnlockLink(ctx context.Context, a storage.AuthRequest, u storage.User, lang, ip string, now time.Time) error {
	ok, err := f.withinHourlyCap(ctx, "unlock:send:"+u.ID, f.c.OTP.MaxSendsPerHour, now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrTooManyCodes
	}
	token := secret.RandomToken(32)
	link := strings.TrimSuffix(f.c.Account.BaseURL, "/") + "/unlock?token=" + url.QueryEscape(token)
	ttl := f.c.Lock.LinkTTL
	expires := now.Add(ttl)
	expires = expires.In(f.Zone(ctx, u))
	m, err := f.c.Mailer.Compose(lang, templates.MailUnlock, mail.Address{Name: u.Name, Email: u.Email},
		&templates.UnlockMail{URL: link, Expires: expires, ValidHours: int(ttl / time.Hour)})
	if err != nil {
		return err
	}
	c := storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeUnlock, UserID: u.ID, AuthRequestID: a.ID, Email: u.Email,
		TicketHash: f.c.Hasher.Hash("ticket", token), CodeHash: "-", CreatedAt: now, SentAt: now, Sends: 1, ExpiresAt: now.Add(ttl)}
	if err := f.c.Store.CreateCode(ctx, c, &m); err != nil {
		return fmt.Errorf("login: store unlock link: %w", err)
	}
	f.c.Mailer.SendNow(ctx, m.ID)
	f.audit(ctx, storage.AuditEvent{Type: EventUnlockLinkSent, OrganizationID: u.OrganizationID, UserID: u.ID, ClientID: a.ClientID,
		IP: ip, Outcome: "success"}, now)
	return nil
}

// administrators are the names of up to five enabled members of u's
// organization whose role may manage members (u left out).
func (f *Flow) administrators(ctx context.Context, u storage.User, now time.Time) ([]string, error) {
	if len(f.c.Lock.ManagerRoles) == 0 {
		return nil, nil
	}
	p, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: u.OrganizationID, Roles: f.c.Lock.ManagerRoles,
		Status: storage.StatusActive, Now: now, Limit: maxAdministratorsShown + 1})
	if err != nil {
		return nil, fmt.Errorf("login: list administrators: %w", err)
	}
	var names []string
	for _, m := range p.Members {
		if m.ID == u.ID || len(names) == maxAdministratorsShown {
			continue
		}
		name := m.Name
		if name == "" {
			name = m.Username
		}
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

// alertDormant mails the organization's chosen recipients (dormant
// alerts) that locked account u was signed into with its right password:
// at most once per account in alertWindow, counted atomically before
// anything is sent, and only when someone is chosen. Failures are logged:
// the answer to the sign-in does not depend on them.
func (f *Flow) alertDormant(ctx context.Context, u storage.User, clientID, ip, ua, lang string, now time.Time) {
	p, err := f.c.Store.ListMembers(ctx, storage.MemberFilter{OrganizationID: u.OrganizationID, DormantAlerts: true,
		Status: storage.StatusActive, Now: now, Limit: 100})
	if err != nil {
		f.c.Logger.WarnContext(ctx, "dormant alert: list recipients", "err", err)
		return
	}
	var to []storage.User
	for _, m := range p.Members {
		if m.ID != u.ID && f.mailable(m.User) {
			to = append(to, m.User)
		}
	}
	if len(to) == 0 {
		return
	}
	ok, err := f.c.Store.TakeAttempt(ctx, now, storage.Limit{Key: "dormant:alert:" + u.ID, Free: 1, Window: alertWindow})
	if err != nil || !ok {
		if err != nil {
			f.c.Logger.WarnContext(ctx, "dormant alert: count", "err", err)
		}
		return
	}
	org, err := f.c.Store.GetOrganization(ctx, u.OrganizationID)
	if err != nil {
		f.c.Logger.WarnContext(ctx, "dormant alert: load organization", "err", err)
		return
	}
	loc := localtime.Location(org.TimeZone)
	account := u.Email
	if u.Username != "" {
		account = u.Username
	}
	data := templates.DormantAlertMail{OrganizationName: org.Name, MemberName: u.Name, Account: account,
		Time: now.In(loc), IP: ip, Device: DeviceType(ua),
		URL: strings.TrimSuffix(f.c.Account.BaseURL, "/") + "/admin/members/" + url.PathEscape(u.ID)}
	ms := make([]storage.OutboxMail, 0, len(to))
	ids := make([]string, 0, len(to))
	for _, r := range to {
		l := lang
		if r.Lang != "" {
			l = r.Lang
		}
		d := data
		m, err := f.c.Mailer.Compose(l, templates.MailDormantAlert, mail.Address{Name: r.Name, Email: r.Email}, &d)
		if err != nil {
			f.c.Logger.WarnContext(ctx, "dormant alert: compose", "err", err)
			return
		}
		ms, ids = append(ms, m), append(ids, m.ID)
	}
	if err := f.c.Store.EnqueueMail(ctx, ms...); err != nil {
		f.c.Logger.WarnContext(ctx, "dormant alert: enqueue", "err", err)
		return
	}
	f.c.Mailer.SendNow(ctx, ids...)
	f.audit(ctx, storage.AuditEvent{Type: EventDormantAlert, OrganizationID: u.OrganizationID, UserID: u.ID, ClientID: clientID,
		IP: ip, Outcome: "success", Detail: fmt.Sprintf("recipients=%d", len(to))}, now)
}

// unlockEvent is the account_unlocked event of a sign-in that ends u's
// lock (by: "link", "reset"), or nil when u is not locked at now.
func (f *Flow) unlockEvent(s signIn, now time.Time) *storage.AuditEvent {
	if !f.locked(s.u, now) {
		return nil
	}
	by := s.unlockBy
	if by == "" {
		by = "link"
	}
	return &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: EventUnlocked, OrganizationID: s.u.OrganizationID,
		UserID: s.u.ID, ClientID: s.a.ClientID, IP: s.ip, Outcome: "success", Detail: by}
}

// unlocks reports whether the attempt carries a usable unlock link of u.
func (t *attempt) unlocks(u storage.User) bool {
	c, _, err := t.f.unlockLink(t.ctx, t.in.UnlockToken)
	if err != nil && !errors.Is(err, ErrUnlockExpired) {
		t.f.c.Logger.WarnContext(t.ctx, "load unlock link", "err", err)
	}
	return err == nil && c.UserID == u.ID
}
