// Package login holds the browser flows of sekisho: the unified sign-in
// (SSO session reuse, prompt/max_age/login_hint), wrong-password
// throttling, and the sign-out pages. Flow logic is plain Go over a small
// storage interface; handlers parse, call the flow and render.
package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// Errors the handlers decide on.
var (
	// ErrInvalidCredentials: wrong email or password, unknown or disabled
	// account, or throttled — deliberately one answer for all.
	ErrInvalidCredentials = errors.New("login: wrong email or password")
	// ErrExpired: the auth request's lifetime is over, or it was finished.
	ErrExpired = errors.New("login: the sign-in request expired")
	// ErrUnknownRequest: no such auth request.
	ErrUnknownRequest = errors.New("login: unknown sign-in request")
	// ErrLegacyReset: an imported user typed the legacy product's
	// password on the unified form; their first unified sign-in is a
	// password reset.
	ErrLegacyReset = errors.New("login: first unified sign-in: reset the password")
)

// LegacyConfig configures the bridge for users imported from a legacy
// product.
type LegacyConfig struct {
	Enabled bool
	Name    i18n.Text // the product's name on pages and in mails
	// WindowEnd ends the migration window; zero: no end yet.
	WindowEnd time.Time
	// CheckFloor is the least time a failing password check, and a
	// check against an imported hash, takes.
	CheckFloor time.Duration
	// Verify checks a password against an imported hash (legacy.Verify).
	// It runs under the hashing gate of Passwords. An error (a hash over
	// the cost bounds) counts as a wrong password.
	Verify func(hash, password string) (bool, error)
}

// LegacyWindow reports whether the migration window is open.
func (f *Flow) LegacyWindow() bool {
	l := f.c.Legacy
	return l.Enabled && (l.WindowEnd.IsZero() || f.c.Now().Before(l.WindowEnd))
}

// LegacyName is the legacy product's name, when the bridge is on.
func (f *Flow) LegacyName() i18n.Text {
	if !f.c.Legacy.Enabled {
		return i18n.Text{}
	}
	return f.c.Legacy.Name
}

// LegacyDeadline is the end of the migration window while it is open,
// in the time zone of the organization n names (the default
// organization's in the email mode, or when n names none we know), for
// pages that name it; zero when no end is set or the window has closed.
func (f *Flow) LegacyDeadline(ctx context.Context, n AccountName) time.Time {
	end := f.c.Legacy.WindowEnd
	if end.IsZero() || !f.LegacyWindow() {
		return time.Time{}
	}
	var org storage.Organization
	err := storage.ErrNotFound
	if f.HasOrganization() && strings.TrimSpace(n.Organization) != "" {
		org, err = f.c.Store.GetOrganizationByCode(ctx, n.Organization)
	}
	if err != nil {
		org, err = f.c.Store.GetOrganization(ctx, storage.DefaultOrganizationID)
	}
	if err != nil {
		// The configured offset still names the moment.
		f.c.Logger.WarnContext(ctx, "migration deadline: organization's time zone", "err", err)
		return end
	}
	if loc, err := time.LoadLocation(org.TimeZone); err == nil {
		end = end.In(loc)
	}
	return end
}

// ACR values of our own (never a NIST level: see README).
const (
	ACRPassword = "urn:sekisho:acr:pwd"
	// ACRPasswordEmailCode: a password plus a code sent to the account's
	// email (mailbox access, not a device: no NIST level is claimed).
	ACRPasswordEmailCode = "urn:sekisho:acr:pwd+email-otp"
	AMRPassword          = "pwd"
	AMROTP               = "otp"
)

// Store is what the flows need from storage.
type Store interface {
	GetAuthRequest(ctx context.Context, id string) (storage.AuthRequest, error)
	CreateAuthRequest(ctx context.Context, a storage.AuthRequest) error
	CompleteLogin(ctx context.Context, c storage.LoginCompletion) error
	GetUser(ctx context.Context, id string) (storage.User, error)
	AddMember(ctx context.Context, m storage.NewMember) error
	GetMemberByEmail(ctx context.Context, orgID, email string) (storage.User, error)
	GetMemberByUsername(ctx context.Context, orgID, username string) (storage.User, error)
	GetUserByEmail(ctx context.Context, email string) (storage.User, error)
	GetOrganization(ctx context.Context, id string) (storage.Organization, error)
	GetOrganizationByCode(ctx context.Context, code string) (storage.Organization, error)
	GetUserByLegacyID(ctx context.Context, legacyID string) (storage.User, error)
	ListUnmigrated(ctx context.Context, afterID string, limit int) ([]storage.User, error)
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (storage.Session, error)
	TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error
	ListActiveSessions(ctx context.Context, userID string, now time.Time) ([]storage.ActiveSession, error)
	TakeAttempt(ctx context.Context, now time.Time, limits ...storage.Limit) (bool, error)
	ReturnAttempt(ctx context.Context, keys ...string) error
	ResetCounters(ctx context.Context, keys []string) error
	NoticeAtLimit(ctx context.Context, l storage.Limit, now time.Time, m storage.OutboxMail) (bool, error)
	AddAuditEvent(ctx context.Context, e storage.AuditEvent) error
	ListAuditEvents(ctx context.Context, f storage.AuditFilter) ([]storage.AuditEvent, error)
	UpdateUser(ctx context.Context, id string, fn func(storage.User) (storage.User, error)) (storage.User, error)
	CreateCode(ctx context.Context, c storage.OneTimeCode, m *storage.OutboxMail) error
	GetCodeByTicket(ctx context.Context, ticketHash string) (storage.OneTimeCode, error)
	TakeCodeTry(ctx context.Context, t storage.CodeTry) (storage.CodeTryResult, error)
	ReturnCodeTry(ctx context.Context, id string) error
	RenewCode(ctx context.Context, r storage.CodeRenewal) (storage.OneTimeCode, error)
	ClaimCode(ctx context.Context, c storage.CodeClaim, now time.Time) error
	ChangePassword(ctx context.Context, p storage.PasswordChange) (storage.SessionEndResult, error)
	ChangeEmail(ctx context.Context, c storage.EmailChange) (storage.User, error)
	GetDevice(ctx context.Context, tokenHash, userID string) (storage.Device, error)
	EnqueueMail(ctx context.Context, ms ...storage.OutboxMail) error
	ListMembers(ctx context.Context, f storage.MemberFilter) (storage.MemberPage, error)
	CreateTOTP(ctx context.Context, t storage.TOTPFactor) error
	GetTOTP(ctx context.Context, userID string) (storage.TOTPFactor, error)
	ConfirmTOTP(ctx context.Context, id string, step int64, c storage.FactorChange) error
	UseTOTPStep(ctx context.Context, userID string, step int64, now time.Time) error
	DeleteTOTP(ctx context.Context, c storage.FactorChange) error
	ReplaceRecoveryCodes(ctx context.Context, c storage.FactorChange) error
	UseRecoveryCode(ctx context.Context, codeHash string, c storage.FactorChange) error
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	GetFactors(ctx context.Context, userID string) (storage.UserFactors, error)
	storage.PasskeyStore
}

// SessionEnder ends SSO sessions and tells the clients (op.Logout).
type SessionEnder interface {
	// EndAndClaim ends the sessions e selects and writes their
	// notifications, claimed for the caller to send at once (the sign-out
	// page).
	EndAndClaim(ctx context.Context, e storage.SessionEnd) (storage.SessionEndResult, error)
	// Prepare completes e from the configuration, for CompleteLogin.
	Prepare(e storage.SessionEnd) storage.SessionEnd
}

// Passwords checks passwords against stored argon2id hashes and hashes
// new ones (password.Hasher).
type Passwords interface {
	Verify(ctx context.Context, phc, password string) (ok, needsRehash bool, err error)
	// VerifyDummy spends the time of a real check (unknown accounts).
	VerifyDummy(ctx context.Context, password string)
	Hash(ctx context.Context, pw string) (string, error)
	// Gate runs work under the bound on concurrent hashes that Verify
	// and Hash share, or returns ctx.Err() without running it.
	Gate(ctx context.Context, work func()) error
}

// Mailer composes mails for the outbox and sends them early (mail.Outbox).
type Mailer interface {
	Compose(lang, name string, to mail.Address, data any) (storage.OutboxMail, error)
	SendNow(ctx context.Context, ids ...string)
}

// Hasher computes keyed hashes (session cookies, throttle keys).
type Hasher interface {
	Hash(kind, value string) string
}

// Throttle configures the growing delay between password checks of an
// account after its free ones. A client address has a limit of its own
// (passwordLimits).
type Throttle struct {
	FreeFailures int           // per account and window
	BaseDelay    time.Duration // first delay, doubled per further attempt
	MaxDelay     time.Duration
	Window       time.Duration
}

// The limit of a client address: ipFreeFactor times the account's free
// attempts, then delays of at most ipMaxDelay. Many people may share an
// address (an office behind NAT): a spray from it must not keep them out
// for long, and a right password from the address lifts its delay.
const (
	ipFreeFactor = 4
	ipMaxDelay   = time.Minute
)

// passwordLimits are the limits one password check is taken under: the
// account's (its key is the account's one normalised name, accountKey,
// keyed: the organization is part of it) and the client address's.
func (f *Flow) passwordLimits(account AccountName, ip string) []storage.Limit {
	th := f.c.Throttle
	return []storage.Limit{
		{Key: "login:acct:" + f.c.Hasher.Hash("throttle", f.accountKey(account)), Free: th.FreeFailures,
			BaseDelay: th.BaseDelay, MaxDelay: th.MaxDelay, Window: th.Window},
		{Key: "login:ip:" + ip, Free: ipFreeFactor * th.FreeFailures,
			BaseDelay: th.BaseDelay, MaxDelay: min(th.MaxDelay, ipMaxDelay), Window: th.Window},
	}
}

// takePassword takes the attempt of a password check before the check
// runs: false when a limit refuses it (nothing is counted then).
func (f *Flow) takePassword(ctx context.Context, limits []storage.Limit, now time.Time) (bool, error) {
	ok, err := f.c.Store.TakeAttempt(ctx, now, limits...)
	if err != nil {
		return false, fmt.Errorf("login: take password attempt: %w", err)
	}
	return ok, nil
}

// passwordRight clears the account's count after a right password and
// gives the address its attempt back.
func (f *Flow) passwordRight(ctx context.Context, limits []storage.Limit) {
	if err := f.c.Store.ResetCounters(ctx, []string{limits[0].Key}); err != nil {
		f.c.Logger.WarnContext(ctx, "reset throttle", "err", err)
	}
	if err := f.c.Store.ReturnAttempt(ctx, limits[1].Key); err != nil {
		f.c.Logger.WarnContext(ctx, "return address attempt", "err", err)
	}
}

// FlowConfig configures NewFlow.
type FlowConfig struct {
	Store           Store
	Passwords       Passwords
	Hasher          Hasher
	Sessions        SessionEnder
	Mailer          Mailer
	Policy          password.Policy // for new passwords
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	Throttle        Throttle
	Reset           ResetConfig
	OTP             OTPConfig
	MFA             MFAConfig
	Account         AccountConfig
	Legacy          LegacyConfig
	Lock            LockConfig
	// Identifier is the sign-in mode (Identify*; empty: IdentifyEmail).
	Identifier string
	// ClientOrganizations gives the organization codes a client is
	// limited to (clients[].organizations); none: every organization.
	ClientOrganizations func(clientID string) []string
	Now                 func() time.Time
	Logger              *slog.Logger
}

// Flow is the sign-in flow.
type Flow struct {
	c FlowConfig
	// rp is the WebAuthn relying party of the issuer; nil when its host
	// cannot be one (passkeys are not offered then).
	rp *webauthn.WebAuthn
}

// NewFlow returns a flow.
func NewFlow(c FlowConfig) *Flow {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Flow{c: c}
	if c.Account.BaseURL != "" {
		rp, err := newRelyingParty(c.Account.BaseURL, f.issuer())
		if err != nil {
			c.Logger.Warn("passkeys are off", "err", err)
		}
		f.rp = rp
	}
	return f
}

// Decision says what the login page does with an auth request.
type Decision int

const (
	// ShowForm: ask for email and password.
	ShowForm Decision = iota
	// Respond: the request is done (SSO session); send the code.
	Respond
	// RedirectError: answer the client with OAuthError (prompt=none).
	RedirectError
	// StepUp: the session is the user's but does not satisfy what the
	// request asks (acr_values, mfa.policy): the strong factor is asked
	// again, not the password (Flow.StepUp).
	StepUp
)

// Start is the outcome of opening the login page.
type Start struct {
	Request    storage.AuthRequest
	Decision   Decision
	OAuthError string      // login_required | interaction_required
	Name       AccountName // to prefill
}

// Start decides whether the browser's SSO session can finish the request
// (honouring prompt, max_age and login_hint), or the form is needed.
func (f *Flow) Start(ctx context.Context, id, sessionToken string) (Start, error) {
	a, err := f.request(ctx, id)
	if err != nil {
		return Start{Request: a}, err
	}
	st := Start{Request: a, Name: f.hinted(a)}
	now := f.c.Now().UTC()
	sess, user, usable, err := f.usableSession(ctx, a, sessionToken, now)
	if err != nil {
		return st, err
	}
	// The session's user must interact first: a password change is due,
	// or the emailed step is required and the session did not pass it.
	interact := usable && (user.MustChangePassword ||
		(!slices.Contains(sess.AMR, AMROTP) && f.otpRequired(a, user)))
	stepUp := usable && !interact && f.mfaNeeded(ctx, a, user, sess.AMR)
	if slices.Contains(a.Prompt, "none") {
		switch {
		case !usable:
			st.Decision, st.OAuthError = RedirectError, "login_required"
			return st, nil
		case interact || stepUp:
			st.Decision, st.OAuthError = RedirectError, "interaction_required"
			return st, nil
		}
	}
	if stepUp {
		st.Decision = StepUp
		return st, nil
	}
	if !usable || interact {
		if usable {
			if st.Name, err = f.nameOf(ctx, user); err != nil {
				return st, err
			}
		}
		st.Decision = ShowForm
		return st, nil
	}
	c := storage.LoginCompletion{AuthRequestID: a.ID, UserID: user.ID, SessionID: sess.ID,
		AuthTime: sess.AuthTime, AMR: sess.AMR, ACR: sess.ACR, Now: now}
	if err := f.c.Store.CompleteLogin(ctx, c); err != nil {
		return st, fmt.Errorf("login: complete with session: %w", err)
	}
	if err := f.c.Store.TouchSession(ctx, sess.ID, now, now.Add(f.c.SessionIdle)); err != nil {
		return st, fmt.Errorf("login: touch session: %w", err)
	}
	st.Request = completed(a, c)
	st.Decision = Respond
	return st, nil
}

// Request loads an auth request that can still be signed in to:
// ErrUnknownRequest or ErrExpired otherwise.
func (f *Flow) Request(ctx context.Context, id string) (storage.AuthRequest, error) {
	return f.request(ctx, id)
}

// request loads an auth request that can still be signed in to.
func (f *Flow) request(ctx context.Context, id string) (storage.AuthRequest, error) {
	if id == "" {
		return storage.AuthRequest{}, ErrUnknownRequest
	}
	a, err := f.c.Store.GetAuthRequest(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return a, ErrUnknownRequest
	}
	if err != nil {
		return a, fmt.Errorf("login: load auth request: %w", err)
	}
	if !f.c.Now().Before(a.ExpiresAt) || a.CodeUsedAt != nil {
		return a, ErrExpired
	}
	return a, nil
}

// hinted is the account name a request's login_hint fills in: an
// address, or an account name in the account-name mode; with the
// organization the request names.
func (f *Flow) hinted(a storage.AuthRequest) AccountName {
	n := AccountName{Email: a.LoginHint}
	if f.ByUsername() {
		n = AccountName{Username: a.LoginHint}
	}
	return f.named(a, n)
}

// usableSession returns the browser's session when it may finish a: it
// is active, recent enough for max_age (prompt=login means max_age=0), its
// user is enabled, login_hint (if any) names that user, and the request
// admits the user's organization (the one it names, the client's).
func (f *Flow) usableSession(ctx context.Context, a storage.AuthRequest, token string, now time.Time) (storage.Session, storage.User, bool, error) {
	sess, ok := f.Session(ctx, token)
	if !ok || slices.Contains(a.Prompt, "login") {
		return sess, storage.User{}, false, nil
	}
	if a.MaxAge != nil && now.Sub(sess.AuthTime) > *a.MaxAge {
		return sess, storage.User{}, false, nil
	}
	u, err := f.c.Store.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled || f.locked(u, now) {
		// A locked account signs in with its password (and is told).
		return sess, u, false, nil
	}
	if a.LoginHint != "" && !identifier.Same(a.LoginHint, u.Email) &&
		!(f.ByUsername() && u.Username != "" && identifier.UsernameKey(a.LoginHint) == identifier.UsernameKey(u.Username)) {
		return sess, u, false, nil
	}
	if a.HintUserID != "" && a.HintUserID != u.ID {
		// The client named another user in id_token_hint: this session
		// cannot answer (OIDC Core §3.1.2.1).
		return sess, u, false, nil
	}
	ok, err = f.admits(ctx, a, u)
	return sess, u, ok, err
}

// Session returns the active session behind a cookie value.
func (f *Flow) Session(ctx context.Context, token string) (storage.Session, bool) {
	if token == "" {
		return storage.Session{}, false
	}
	s, err := f.c.Store.GetSessionByTokenHash(ctx, f.c.Hasher.Hash("session", token))
	if err != nil || !s.Active(f.c.Now()) {
		return storage.Session{}, false
	}
	return s, true
}

// SignedInAs names the account of session s, as the forms name it, and
// the clients s signed in to (sorted ids), which its sign-out signs out.
func (f *Flow) SignedInAs(ctx context.Context, s storage.Session) (AccountName, []string, error) {
	u, err := f.c.Store.GetUser(ctx, s.UserID)
	if err != nil {
		return AccountName{}, nil, fmt.Errorf("login: load the session's user: %w", err)
	}
	n, err := f.nameOf(ctx, u)
	if err != nil {
		return AccountName{}, nil, err
	}
	if n.Email == "" && n.Username == "" {
		n.Email = u.Email
	}
	sessions, err := f.c.Store.ListActiveSessions(ctx, s.UserID, f.c.Now().UTC())
	if err != nil {
		return n, nil, fmt.Errorf("login: the session's clients: %w", err)
	}
	for _, as := range sessions {
		if as.ID == s.ID {
			clients := slices.Clone(as.Clients)
			slices.Sort(clients)
			return n, clients, nil
		}
	}
	return n, nil, nil
}

// Credentials is one submission of the sign-in form.
type Credentials struct {
	AuthRequestID string
	// Organization, Email and Username name the account, as the sign-in
	// mode asks (AccountName); the request's organization, when it names
	// one, replaces Organization.
	Organization string
	Email        string
	Username     string
	Password     string
	IP           string
	UserAgent    string
	SessionToken string // the browser's current session cookie, if any
	DeviceToken  string // the browser's device cookie, if any
	StepToken    string // the browser's step cookie, if any
	// UnlockToken is the unlock link the browser opened, if any: with
	// it, a locked account's sign-in unlocks it.
	UnlockToken string
	// LangOf gives the language of mails for the request's ui_locales.
	LangOf func(uiLocales []string) string
}

// SignedIn is the outcome of a step of the sign-in: done, or the next
// step (Challenge, ChangeTicket).
type SignedIn struct {
	Request      storage.AuthRequest // done, ready for the code response
	Session      storage.Session
	SessionToken string // the new cookie value
	// DeviceToken, when set, is a new device cookie value.
	DeviceToken string
	// Challenge, when set, is the emailed step that comes next; nothing
	// else is done yet.
	Challenge *Challenge
	// MFA, when set, is the second-factor step (or the enrolment a
	// sign-in requires) that comes next; with RecoveryCodes, the sign-in
	// is done and the codes are shown before going on.
	MFA *MFAChallenge
	// ChangeTicket, when set, starts the forced password change that
	// comes next.
	ChangeTicket string
	// ChangeAccount, with ChangeTicket, names the account for password
	// managers (managerName).
	ChangeAccount string
	// StepToken, with Challenge or ChangeTicket, is the step cookie the
	// step is bound to: the browser must send it with the step's forms.
	StepToken string
}

// Login checks the password and, when it is right, starts a new SSO
// session (a new cookie value every time: no fixation) and finishes the
// request. When the browser's session belongs to the same user, it is
// renewed and keeps its `sid`, which the clients know; another user's
// session ends and its clients are told. Every failure is
// ErrInvalidCredentials and costs the same time. The check is taken
// from the throttle before it runs.
func (f *Flow) Login(ctx context.Context, in Credentials) (SignedIn, error) {
	t, err := f.attempt(ctx, in)
	if err == nil {
		err = t.take()
	}
	if err != nil {
		return SignedIn{Request: t.a}, err
	}
	if !t.taken {
		f.c.Passwords.VerifyDummy(ctx, in.Password)
		return t.fail("", "throttled")
	}
	u, refused, err := t.account()
	if err != nil || refused != "" {
		return t.refuse(u, refused, err)
	}
	if u.Imported() {
		// Not migrated yet: only the legacy product's password is known.
		ok, err := t.legacyPassword(u)
		if err != nil {
			return SignedIn{}, err
		}
		if reason, err := t.proved(u, ok); reason != "" || err != nil {
			return t.refuse(u, reason, err)
		}
		if !f.mailable(u) {
			// The reset that migrates the account needs its address.
			return t.noAddress(u)
		}
		f.passwordRight(ctx, t.limits)
		f.audit(ctx, storage.AuditEvent{Type: "login", OrganizationID: u.OrganizationID, UserID: u.ID, ClientID: t.a.ClientID,
			IP: in.IP, Outcome: "challenge", Detail: "legacy_reset"}, t.now)
		return SignedIn{Request: t.a}, ErrLegacyReset
	}
	ok, rehash, err := f.c.Passwords.Verify(ctx, u.PasswordHash, in.Password)
	if err != nil && ctx.Err() != nil {
		return SignedIn{}, ctx.Err()
	}
	if reason, err := t.proved(u, ok); reason != "" || err != nil {
		return t.refuse(u, reason, err)
	}
	if u.InvitedAt != nil {
		// An invitation waits: the member chooses a password through it.
		return t.fail(u.ID, "invited")
	}
	if rehash {
		f.rehash(ctx, u, in.Password)
	}
	return t.succeed(u, "")
}

// errHashChanged: the password hash changed while it was re-hashed.
var errHashChanged = errors.New("login: the password hash changed meanwhile")

// rehash replaces u's password hash, just proved with pw but made with
// other argon2id parameters than the configured ones, by a hash with
// the configured parameters, unless the stored hash changed meanwhile.
// It costs one more hash, once after each change of the parameters; a
// failure is logged and the sign-in goes on with the old hash.
func (f *Flow) rehash(ctx context.Context, u storage.User, pw string) {
	hash, err := f.c.Passwords.Hash(ctx, pw)
	if err == nil {
		_, err = f.c.Store.UpdateUser(ctx, u.ID, func(cur storage.User) (storage.User, error) {
			if cur.PasswordHash != u.PasswordHash {
				return cur, errHashChanged
			}
			cur.PasswordHash = hash
			return cur, nil
		})
	}
	if err != nil && !errors.Is(err, errHashChanged) {
		f.c.Logger.WarnContext(ctx, "re-hash a password with the configured parameters", "user_id", u.ID, "err", err)
	}
}

// attempt is one submission of a password form (unified or legacy): the
// throttle it is taken from, and the one answer every failure gets.
type attempt struct {
	f       *Flow
	ctx     context.Context
	in      Credentials
	a       storage.AuthRequest
	name    AccountName // the account named, the request's organization applied
	now     time.Time
	started time.Time
	limits  []storage.Limit // the account's, the client address's
	taken   bool            // the check may run
	audit   storage.AuditEvent
	amr     []string // what the sign-in proved (nil: a password)
}

// attempt loads the request of a submission.
func (f *Flow) attempt(ctx context.Context, in Credentials) (*attempt, error) {
	a, err := f.request(ctx, in.AuthRequestID)
	if err != nil {
		return &attempt{a: a}, err
	}
	name := f.named(a, AccountName{Organization: in.Organization, Email: in.Email, Username: in.Username})
	return &attempt{f: f, ctx: ctx, in: in, a: a, name: name, now: f.c.Now().UTC(), started: time.Now(),
		limits: f.passwordLimits(name, in.IP),
		audit:  storage.AuditEvent{Type: "login", ClientID: a.ClientID, IP: in.IP}}, nil
}

// account looks up the account the attempt names, in the organization
// it names. An unknown organization or account, an invitation not yet
// accepted and an account without a password of its own are refused
// (the reason for the audit log): the caller answers as for a wrong
// password, after a dummy check (refuse).
func (t *attempt) account() (storage.User, string, error) {
	u, org, err := t.f.lookup(t.ctx, t.name)
	t.audit.OrganizationID = org.ID
	switch {
	case errors.Is(err, storage.ErrNotFound) && org.ID == "" && t.f.HasOrganization():
		return u, "unknown_organization", nil
	case errors.Is(err, storage.ErrNotFound):
		return u, "unknown_account", nil
	case err != nil:
		return u, "", fmt.Errorf("login: load user: %w", err)
	}
	t.audit.OrganizationID = u.OrganizationID
	switch {
	case u.InvitedAt != nil:
		return u, "invited", nil
	case u.PasswordHash == "" && !u.Imported():
		return u, "no_password", nil
	}
	return u, "", nil
}

// proved checks what follows a password check of u (ok: the password was
// right): a wrong password, a disabled account, and an account of an
// organization the request does not admit are refused, in the same time.
func (t *attempt) proved(u storage.User, ok bool) (string, error) {
	switch {
	case !ok:
		return "wrong_password", nil
	case u.Disabled:
		return "disabled", nil
	}
	admitted, err := t.f.admits(t.ctx, t.a, u)
	if err == nil && !admitted {
		return "client_organization", nil
	}
	return "", err
}

// refuse answers a refused attempt (reason) or an error: a reason found
// before the password was checked (the account is unknown, invited or
// without a password) costs a dummy check first, so every refusal takes
// the time of a real one.
func (t *attempt) refuse(u storage.User, reason string, err error) (SignedIn, error) {
	if err != nil {
		return SignedIn{Request: t.a}, err
	}
	switch reason {
	case "unknown_organization", "unknown_account", "invited", "no_password":
		t.f.c.Passwords.VerifyDummy(t.ctx, t.in.Password)
	}
	return t.fail(u.ID, reason)
}

// noAddress answers a right password of an account that cannot go on
// without a mail (no registered address): ErrNoAddress, recorded.
func (t *attempt) noAddress(u storage.User) (SignedIn, error) {
	t.f.passwordRight(t.ctx, t.limits)
	e := t.audit
	e.UserID, e.Outcome, e.Detail = u.ID, "failure", "no_address"
	t.f.audit(t.ctx, e, t.now)
	return SignedIn{Request: t.a}, ErrNoAddress
}

// take takes the attempt from the throttle, before the password is
// looked at: the account's and the address's limits must both allow it.
// A refused attempt counts nothing and moves no delay.
func (t *attempt) take() error {
	var err error
	t.taken, err = t.f.takePassword(t.ctx, t.limits, t.now)
	return err
}

// fail records a failure and answers ErrInvalidCredentials, never before
// the floor: imported hashes cost differently from ours, so timing tells
// nothing. A wrong password stays counted.
func (t *attempt) fail(userID, reason string) (SignedIn, error) {
	e := t.audit
	e.UserID, e.Outcome, e.Detail = userID, "failure", reason
	t.f.audit(t.ctx, e, t.now)
	sleepUntil(t.ctx, t.started.Add(t.f.c.Legacy.CheckFloor))
	return SignedIn{Request: t.a}, ErrInvalidCredentials
}

// succeed goes on with u's sign-in (its password proved, on the unified
// form or the legacy one; acr overrides the usual value) and forgets the
// account's failures. An account the dormant rule locks gets the lock's
// answer instead (lockedOut), unless the attempt carries its unlock link.
func (t *attempt) succeed(u storage.User, acr string) (SignedIn, error) {
	if t.f.locked(u, t.now) && !t.unlocks(u) {
		return t.lockedOut(u)
	}
	t.f.passwordRight(t.ctx, t.limits)
	lang := "" // no request: the mailer's default (ui.default_language)
	if t.in.LangOf != nil {
		lang = t.in.LangOf(t.a.UILocales)
	}
	audit := t.audit
	audit.OrganizationID = u.OrganizationID
	amr := t.amr
	if amr == nil {
		amr = []string{AMRPassword}
	}
	s := signIn{a: t.a, u: u, amr: amr, acr: acr, ip: t.in.IP, ua: t.in.UserAgent, lang: lang,
		deviceToken: t.in.DeviceToken, stepToken: t.in.StepToken, notify: true, audit: &audit}
	if o, ok := t.f.Session(t.ctx, t.in.SessionToken); ok {
		s.old = &o
	}
	res, err := t.f.next(t.ctx, s, t.now)
	if err != nil {
		return SignedIn{Request: t.a}, err
	}
	return res, nil
}

// legacyPassword checks the submitted password against u's imported
// hash, under the same gate as argon2id (password.max_concurrent), so
// that imported hashes cannot starve other sign-ins, and returns no
// sooner than the legacy floor after the attempt started, whatever the
// answer: imported hashes cost differently from argon2id and from each
// other. A hash that is not verified (one over the cost bounds, imported
// before they were lowered) costs no hashing and is a wrong password; the
// user gets in through the password reset. The error is ctx's, when it
// ends while the check waits for the gate.
func (t *attempt) legacyPassword(u storage.User) (bool, error) {
	l := t.f.c.Legacy
	if u.LegacyHash == "" || l.Verify == nil {
		return false, nil
	}
	defer sleepUntil(t.ctx, t.started.Add(l.CheckFloor))
	var ok bool
	var verr error
	if err := t.f.c.Passwords.Gate(t.ctx, func() { ok, verr = l.Verify(u.LegacyHash, t.in.Password) }); err != nil {
		return false, err
	}
	if verr != nil {
		// The reason names the format and its parameters, never the hash.
		t.f.c.Logger.WarnContext(t.ctx, "imported password hash not verified: the user must reset the password",
			"user_id", u.ID, "err", verr)
	}
	return ok, nil
}

// completeSignIn gives the browser a session for s.u and finishes s.a.
// When the browser's session (s.old) is the user's, it is renewed and
// keeps its `sid`; another user's session ends and its clients are told.
// It records the browser (device cookie) and queues the sign-in mail
// when the configuration asks for them.
func (f *Flow) completeSignIn(ctx context.Context, s signIn, now time.Time) (SignedIn, error) {
	token := secret.RandomToken(32)
	sess := storage.Session{
		ID: uuid.NewString(), TokenHash: f.c.Hasher.Hash("session", token), UserID: s.u.ID,
		AuthTime: now, AMR: s.amr, ACR: s.acrValue(), IP: s.ip, UserAgent: truncate(s.ua, 256),
		CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(f.c.SessionIdle), AbsoluteExpiresAt: now.Add(f.c.SessionAbsolute),
	}
	c := storage.LoginCompletion{AuthRequestID: s.a.ID, UserID: s.u.ID, SessionID: sess.ID,
		AuthTime: now, AMR: sess.AMR, ACR: sess.ACR, Now: now, NewSession: &sess, ClaimCode: s.claim, Interactive: true,
		Unlocked: f.unlockEvent(s, now)}
	if s.audit != nil {
		e := *s.audit
		e.ID, e.Time, e.OrganizationID, e.UserID, e.Outcome = uuid.NewString(), now, s.u.OrganizationID, s.u.ID, "success"
		e.Detail = BrowserSummary(s.ua) // shown in the account's recent sign-ins
		c.Audit = &e
	}
	if s.old != nil {
		if s.old.UserID == s.u.ID {
			sess.ID, sess.CreatedAt, c.SessionID = s.old.ID, s.old.CreatedAt, s.old.ID
		} else {
			end := f.c.Sessions.Prepare(storage.SessionEnd{SessionID: s.old.ID, Now: now, Reason: storage.EndReplaced})
			c.EndSession = &end
		}
	}
	out := SignedIn{Session: sess, SessionToken: token}
	if f.tracksDevices() {
		f.loadDevice(ctx, &s, now)
		tok := s.deviceToken
		if tok == "" {
			tok = secret.RandomToken(32)
			out.DeviceToken = tok
		}
		d := storage.Device{ID: uuid.NewString(), UserID: s.u.ID, TokenHash: f.c.Hasher.Hash("device", tok),
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(f.c.OTP.RememberDevice)}
		if slices.Contains(s.amr, AMROTP) {
			d.OTPAt = &now
		}
		c.Device = &d
	}
	if s.notify && f.mailable(s.u) && (f.c.OTP.NotifyLogin == NotifyAlways || (f.c.OTP.NotifyLogin == NotifyNewDevice && s.device == nil)) {
		m, err := f.c.Mailer.Compose(s.lang, templates.MailLoginNotification, mail.Address{Name: s.u.Name, Email: s.u.Email},
			&templates.LoginNotificationMail{Time: now.In(f.Zone(ctx, s.u)), IP: s.ip, Browser: BrowserSummary(s.ua)})
		if err != nil {
			return SignedIn{}, err
		}
		c.Mail = &m
	}
	if err := f.c.Store.CompleteLogin(ctx, c); err != nil {
		return SignedIn{}, fmt.Errorf("login: complete: %w", err)
	}
	out.Request = completed(s.a, c)
	return out, nil
}

// Logout ends the session, writes the clients' notifications and records
// it. The result names the clients to tell on the front channel and the
// back-channel deliveries to wait for.
func (f *Flow) Logout(ctx context.Context, s storage.Session, ip, clientID string) (storage.SessionEndResult, error) {
	now := f.c.Now().UTC()
	res, err := f.c.Sessions.EndAndClaim(ctx, storage.SessionEnd{SessionID: s.ID, Now: now, Reason: storage.EndLogout})
	if err != nil {
		return res, fmt.Errorf("login: end session: %w", err)
	}
	f.audit(ctx, storage.AuditEvent{Type: "logout", UserID: s.UserID, ClientID: clientID, IP: ip, Outcome: "success"}, now)
	return res, nil
}

// audit records e. An event about an account belongs to the account's
// organization, which is looked up when the caller did not give it.
func (f *Flow) audit(ctx context.Context, e storage.AuditEvent, now time.Time) {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.OrganizationID == "" && e.UserID != "" {
		if u, err := f.c.Store.GetUser(ctx, e.UserID); err == nil {
			e.OrganizationID = u.OrganizationID
		}
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	if err := f.c.Store.AddAuditEvent(ctx, e); err != nil {
		f.c.Logger.ErrorContext(ctx, "write audit event", "type", e.Type, "err", err)
	}
}

func completed(a storage.AuthRequest, c storage.LoginCompletion) storage.AuthRequest {
	a.UserID, a.SessionID, a.AuthTime, a.AMR, a.ACR = c.UserID, c.SessionID, c.AuthTime, c.AMR, c.ACR
	t := c.Now
	a.CompletedAt = &t
	return a
}

func truncate(s string, n int) string {
	// Header bytes are not text: drop what is not valid UTF-8 or a
	// control character (PostgreSQL refuses NUL and invalid UTF-8), then
	// cut on a character boundary.
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
