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
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
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
)

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
	CompleteLogin(ctx context.Context, c storage.LoginCompletion) error
	GetUser(ctx context.Context, id string) (storage.User, error)
	GetUserByEmail(ctx context.Context, email string) (storage.User, error)
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (storage.Session, error)
	TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error
	GetCounters(ctx context.Context, keys []string) (map[string]storage.Counter, error)
	IncrementCounters(ctx context.Context, keys []string, now time.Time, window time.Duration) error
	ResetCounters(ctx context.Context, keys []string) error
	AddAuditEvent(ctx context.Context, e storage.AuditEvent) error
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

// PasswordVerifier checks passwords against stored argon2id hashes.
type PasswordVerifier interface {
	Verify(ctx context.Context, phc, password string) (ok, needsRehash bool, err error)
	// VerifyDummy spends the time of a real check (unknown accounts).
	VerifyDummy(ctx context.Context, password string)
}

// Hasher computes keyed hashes (session cookies, throttle keys).
type Hasher interface {
	Hash(kind, value string) string
}

// Throttle configures the growing delay after wrong passwords.
type Throttle struct {
	FreeFailures int           // per account; an IP gets four times as many
	BaseDelay    time.Duration // first delay, doubled per further failure
	MaxDelay     time.Duration
	Window       time.Duration
}

// FlowConfig configures NewFlow.
type FlowConfig struct {
	Store           Store
	Passwords       PasswordVerifier
	Hasher          Hasher
	Sessions        SessionEnder
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	Throttle        Throttle
	Reset           ResetConfig
	Now             func() time.Time
	Logger          *slog.Logger
}

// Flow is the sign-in flow.
type Flow struct{ c FlowConfig }

// NewFlow returns a flow.
func NewFlow(c FlowConfig) *Flow {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &Flow{c: c}
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
)

// Start is the outcome of opening the login page.
type Start struct {
	Request    storage.AuthRequest
	Decision   Decision
	OAuthError string // login_required | interaction_required
	Email      string // to prefill
}

// Start decides whether the browser's SSO session can finish the request
// (honouring prompt, max_age and login_hint), or the form is needed.
func (f *Flow) Start(ctx context.Context, id, sessionToken string) (Start, error) {
	a, err := f.request(ctx, id)
	if err != nil {
		return Start{Request: a}, err
	}
	st := Start{Request: a, Email: a.LoginHint}
	now := f.c.Now().UTC()
	sess, user, usable := f.usableSession(ctx, a, sessionToken, now)
	if slices.Contains(a.Prompt, "none") {
		switch {
		case !usable:
			st.Decision, st.OAuthError = RedirectError, "login_required"
			return st, nil
		case user.MustChangePassword:
			st.Decision, st.OAuthError = RedirectError, "interaction_required"
			return st, nil
		}
	}
	if !usable {
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

// usableSession returns the browser's session when it may finish a: it
// is active, recent enough for max_age (prompt=login means max_age=0), its
// user is enabled, and login_hint (if any) names that user.
func (f *Flow) usableSession(ctx context.Context, a storage.AuthRequest, token string, now time.Time) (storage.Session, storage.User, bool) {
	sess, ok := f.Session(ctx, token)
	if !ok || slices.Contains(a.Prompt, "login") {
		return sess, storage.User{}, false
	}
	if a.MaxAge != nil && now.Sub(sess.AuthTime) > *a.MaxAge {
		return sess, storage.User{}, false
	}
	u, err := f.c.Store.GetUser(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return sess, u, false
	}
	if a.LoginHint != "" && !strings.EqualFold(strings.TrimSpace(a.LoginHint), u.Email) {
		return sess, u, false
	}
	return sess, u, true
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

// Credentials is one submission of the sign-in form.
type Credentials struct {
	AuthRequestID string
	Email         string
	Password      string
	IP            string
	UserAgent     string
	SessionToken  string // the browser's current session cookie, if any
}

// SignedIn is a successful sign-in.
type SignedIn struct {
	Request      storage.AuthRequest // done, ready for the code response
	Session      storage.Session
	SessionToken string // the new cookie value
}

// Login checks the password and, when it is right, starts a new SSO
// session (a new cookie value every time: no fixation) and finishes the
// request. When the browser's session belongs to the same user, it is
// renewed and keeps its `sid`, which the clients know; another user's
// session ends and its clients are told. Every failure is
// ErrInvalidCredentials and costs the same time.
func (f *Flow) Login(ctx context.Context, in Credentials) (SignedIn, error) {
	a, err := f.request(ctx, in.AuthRequestID)
	if err != nil {
		return SignedIn{Request: a}, err
	}
	now := f.c.Now().UTC()
	email := strings.TrimSpace(in.Email)
	acctKey := "login:acct:" + f.c.Hasher.Hash("throttle", strings.ToLower(email))
	ipKey := "login:ip:" + in.IP
	keys := []string{acctKey, ipKey}
	counters, err := f.c.Store.GetCounters(ctx, keys)
	if err != nil {
		return SignedIn{}, fmt.Errorf("login: read throttle: %w", err)
	}
	audit := storage.AuditEvent{Type: "login", ClientID: a.ClientID, IP: in.IP}
	fail := func(userID, reason string) (SignedIn, error) {
		if err := f.c.Store.IncrementCounters(ctx, keys, now, f.c.Throttle.Window); err != nil {
			return SignedIn{}, fmt.Errorf("login: count failure: %w", err)
		}
		audit.UserID, audit.Outcome, audit.Detail = userID, "failure", reason
		f.audit(ctx, audit, now)
		return SignedIn{Request: a}, ErrInvalidCredentials
	}
	if f.throttled(counters[acctKey], f.c.Throttle.FreeFailures, now) || f.throttled(counters[ipKey], 4*f.c.Throttle.FreeFailures, now) {
		f.c.Passwords.VerifyDummy(ctx, in.Password)
		return fail("", "throttled")
	}
	u, err := f.c.Store.GetUserByEmail(ctx, email)
	if errors.Is(err, storage.ErrNotFound) {
		f.c.Passwords.VerifyDummy(ctx, in.Password)
		return fail("", "unknown_account")
	}
	if err != nil {
		return SignedIn{}, fmt.Errorf("login: load user: %w", err)
	}
	ok, _, err := f.c.Passwords.Verify(ctx, u.PasswordHash, in.Password)
	if err != nil && ctx.Err() != nil {
		return SignedIn{}, ctx.Err()
	}
	if !ok {
		return fail(u.ID, "wrong_password")
	}
	if u.Disabled {
		return fail(u.ID, "disabled")
	}
	audit.UserID, audit.Outcome = u.ID, "success"
	audit.ID, audit.Time = uuid.NewString(), now
	var old *storage.Session
	if o, ok := f.Session(ctx, in.SessionToken); ok {
		old = &o
	}
	res, err := f.completeSignIn(ctx, a, u, now, []string{AMRPassword}, ACRPassword, in.IP, in.UserAgent, old, &audit)
	if err != nil {
		return SignedIn{}, err
	}
	if _, had := counters[acctKey]; had {
		if err := f.c.Store.ResetCounters(ctx, []string{acctKey}); err != nil {
			f.c.Logger.WarnContext(ctx, "reset throttle", "err", err)
		}
	}
	return res, nil
}

// startSession signs u in to a in a new session.
func (f *Flow) startSession(ctx context.Context, a storage.AuthRequest, u storage.User, now time.Time, amr []string, acr, ip, ua string) (SignedIn, error) {
	return f.completeSignIn(ctx, a, u, now, amr, acr, ip, ua, nil, nil)
}

// completeSignIn gives the browser a session for u and finishes a. When
// the browser's session (old) is u's, it is renewed and keeps its `sid`;
// another user's session ends and its clients are told.
func (f *Flow) completeSignIn(ctx context.Context, a storage.AuthRequest, u storage.User, now time.Time, amr []string, acr, ip, ua string,
	old *storage.Session, audit *storage.AuditEvent) (SignedIn, error) {
	token := secret.RandomToken(32)
	sess := storage.Session{
		ID: uuid.NewString(), TokenHash: f.c.Hasher.Hash("session", token), UserID: u.ID,
		AuthTime: now, AMR: amr, ACR: acr, IP: ip, UserAgent: truncate(ua, 256),
		CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(f.c.SessionIdle), AbsoluteExpiresAt: now.Add(f.c.SessionAbsolute),
	}
	c := storage.LoginCompletion{AuthRequestID: a.ID, UserID: u.ID, SessionID: sess.ID,
		AuthTime: now, AMR: sess.AMR, ACR: sess.ACR, Now: now, NewSession: &sess, Audit: audit}
	if old != nil {
		if old.UserID == u.ID {
			sess.ID, sess.CreatedAt, c.SessionID = old.ID, old.CreatedAt, old.ID
		} else {
			end := f.c.Sessions.Prepare(storage.SessionEnd{SessionID: old.ID, Now: now, Reason: storage.EndReplaced})
			c.EndSession = &end
		}
	}
	if err := f.c.Store.CompleteLogin(ctx, c); err != nil {
		return SignedIn{}, fmt.Errorf("login: complete: %w", err)
	}
	return SignedIn{Request: completed(a, c), Session: sess, SessionToken: token}, nil
}

// throttled reports whether a growing delay after free failures is still
// running: BaseDelay·2^(n-free), at most MaxDelay, counted from the last
// failure. It never locks an account for good.
func (f *Flow) throttled(c storage.Counter, free int, now time.Time) bool {
	if c.Count < free {
		return false
	}
	d := float64(f.c.Throttle.BaseDelay) * math.Pow(2, float64(c.Count-free))
	delay := time.Duration(min(d, float64(f.c.Throttle.MaxDelay)))
	return now.Before(c.Last.Add(delay))
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

func (f *Flow) audit(ctx context.Context, e storage.AuditEvent, now time.Time) {
	if e.ID == "" {
		e.ID = uuid.NewString()
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
	if len(s) <= n {
		return s
	}
	return s[:n]
}
