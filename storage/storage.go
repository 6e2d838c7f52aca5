// Package storage defines the one storage interface of sekisho, its domain
// types and the sentinel errors callers decide on. The gorm implementation
// for SQLite and PostgreSQL lives in storage/gormstore; the contract suite
// that both must pass lives in storage/storagetest.
//
// All times are stored and returned in UTC. Secrets (codes, refresh tokens,
// session cookies) reach storage only as keyed hashes computed by callers.
package storage

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Implementations translate driver errors into these, so
// callers never see gorm or SQL errors.
var (
	// ErrNotFound: no row matches.
	ErrNotFound = errors.New("storage: not found")
	// ErrAlreadyExists: a unique key (id, email) is taken.
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrAlreadyUsed: a single-use item (authorization code, refresh token)
	// was claimed before, or has been revoked. Callers treat it as replay.
	ErrAlreadyUsed = errors.New("storage: already used")
	// ErrConflict: a conditional change did not apply because the row is in
	// another state (an auth request bound to another browser, ...).
	ErrConflict = errors.New("storage: conflict")
	// ErrUnavailable: the database cannot be reached or refuses work for
	// now (connection refused or lost, shutting down, too many
	// connections, locked past the busy timeout). Callers answer "try
	// again later" (503, temporarily_unavailable) and never show the
	// cause, which names hosts and users.
	ErrUnavailable = errors.New("storage: database unavailable")
)

// Storage is everything sekisho keeps. Every method takes the request's
// context first. Methods that change several rows do so in one transaction.
type Storage interface {
	UserStore
	OrganizationStore
	MemberStore
	AuthRequestStore
	TokenStore
	SessionStore
	KeyStore
	LogoutStore
	MailStore
	CodeStore
	DeviceStore
	AuditStore
	CounterStore
	PasskeyStore
	MFAStore

	// DeleteExpired removes rows whose lifetime ended before now (auth
	// requests, tokens, sessions, counters, retired keys) and reports how
	// many rows went.
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// DatabaseTime returns the database server's clock, in UTC, so that
	// replicas can tell when their own clocks drift from it. ok is false
	// when the database has no clock of its own (SQLite runs inside this
	// process, on this host's clock).
	DatabaseTime(ctx context.Context) (t time.Time, ok bool, err error)
	// Close releases the connections.
	Close() error
}

// User is an account that can sign in.
type User struct {
	ID string // UUID; the stable `sub`
	// OrganizationID is the organization the account belongs to (empty
	// when creating: DefaultOrganizationID).
	OrganizationID string
	// Username is the account name people type in the
	// organization+username sign-in mode (canonical form), or empty.
	Username           string
	Email              string // canonical form (identifier.Email), or empty for an account without one
	EmailVerified      bool
	Name               string
	PasswordHash       string // argon2id PHC string
	Disabled           bool
	MustChangePassword bool
	// OTPEnabled: the user turned the emailed sign-in step on (otp.policy
	// optional).
	OTPEnabled bool
	// LegacyID is the user's id in the legacy product they were imported
	// from; empty for a native account.
	LegacyID string
	// LegacyHash is the product's password hash, kept until the user
	// migrates (sets a sekisho password).
	LegacyHash string
	MigratedAt *time.Time
	// Roles are the legacy product's roles (import data), not Role.
	Roles []string
	// Role is the member's role in the organization (one of the roles
	// the configuration declares), or empty.
	Role string
	// LastLoginAt is the last interactive sign-in (a typed password, a
	// completed reset or invitation); nil when there was none.
	LastLoginAt *time.Time
	// InvitedAt is set while an invitation waits to be accepted: the
	// account cannot sign in or reset until then.
	InvitedAt *time.Time
	// PlatformAdmin: a platform operator who administers every
	// organization in the console.
	PlatformAdmin bool
	// DormantAt is when the sweep marked the account dormant (no
	// interactive sign-in for lifecycle.dormant_after), nil while it is
	// not marked. The lock itself follows the rule (lifecycle.Dormant)
	// whether or not the sweep has run; the mark records that the account
	// was locked and its tokens revoked, once.
	DormantAt *time.Time
	// UnlockedUntil is the end of an administrator's unlock: until then
	// the account may sign in although its idle period has run out.
	UnlockedUntil *time.Time
	// DormantAlerts: the member receives the organization's alerts of
	// sign-in attempts on locked accounts.
	DormantAlerts bool
	// Lang is the user's language for mails sent without a browser
	// request (a BCP 47 tag such as "ja"), or empty.
	Lang      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Imported reports whether the user came from the legacy product and has
// not migrated yet.
func (u User) Imported() bool { return u.LegacyID != "" && u.MigratedAt == nil }

// UserStore keeps accounts. Emails are unique case-insensitively: the
// implementation compares a lower-cased copy made in Go.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error
	// CreateUserWithLink creates u, its verification link and the link's
	// mail in one transaction: a user is never left without the mail
	// that was meant for them.
	CreateUserWithLink(ctx context.Context, u User, link OneTimeCode, m OutboxMail) error
	GetUser(ctx context.Context, id string) (User, error)
	GetUserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// ListAccounts lists accounts with their states as ListMembers does,
	// across organizations (f.OrganizationID, when set, narrows it to
	// one): the operator's deployment-wide list, by creation.
	ListAccounts(ctx context.Context, f MemberFilter) (MemberPage, error)
	// UpdateUser loads the user, calls fn and stores what it returns, in
	// one transaction. An error from fn aborts the change and is returned.
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
	// DeleteUser removes the user and revokes every token they hold.
	// Callers end the sessions first (EndSessions), so clients hear of it.
	DeleteUser(ctx context.Context, id string, now time.Time) error
	// GetUserByLegacyID returns the user imported with that legacy id.
	GetUserByLegacyID(ctx context.Context, legacyID string) (User, error)
	// ImportLegacyUsers creates or updates imported users, in one
	// transaction (rolled back when dryRun), and says what happened to
	// each: a legacy id not seen before is created (unless its email, or
	// its account name in its organization, belongs to another account);
	// a known one that has not migrated gets the file's email, name, hash
	// and roles (its organization, account name and role stay); a
	// migrated one is left alone.
	ImportLegacyUsers(ctx context.Context, users []LegacyUser, now time.Time, dryRun bool) ([]ImportResult, error)
	// CountLegacyUsers counts imported users and those who migrated.
	CountLegacyUsers(ctx context.Context) (imported, migrated int, err error)
	// ListUnmigrated returns imported users who have not migrated, by id
	// after afterID, at most limit.
	ListUnmigrated(ctx context.Context, afterID string, limit int) ([]User, error)
}

// LegacyUser is one user of an import file.
type LegacyUser struct {
	// OrganizationID is the organization a new user joins (empty: the
	// default one); a user imported before stays where it is.
	OrganizationID string
	// Username and Role, when given, are those of a new user.
	Username string
	Role     string
	// Limit is the member limit of the organization a new user joins (0:
	// none): a new user beyond it is rejected, counted in the import's
	// transaction with the organization locked.
	Limit        int
	LegacyID     string
	Email        string
	Name         string
	PasswordHash string // the product's hash, or empty
	Roles        []string
	Lang         string // BCP 47, or empty
}

// Outcomes of importing one user.
const (
	ImportCreated   = "created"
	ImportUpdated   = "updated"
	ImportUnchanged = "unchanged"
	ImportRejected  = "rejected"
)

// ImportResult is what importing one user did.
type ImportResult struct {
	LegacyID string
	UserID   string
	Outcome  string // Import*
	Reason   string // why it was rejected
}

// AuthRequest is an OIDC authorization request from /authorize until its
// code is redeemed.
type AuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	MaxAge              *time.Duration // nil when not asked
	LoginHint           string
	// Organization is the organization code the request carried
	// (organization=CODE): the sign-in form shows it, read-only.
	Organization string
	// HintUserID is the subject of the request's id_token_hint: only
	// that user's session may answer it.
	HintUserID string
	UILocales  []string
	ACRValues  []string
	// BrowserHash binds the request to the browser that first opened the
	// login page (keyed hash of a browser cookie). Empty until bound.
	BrowserHash string
	CreatedAt   time.Time
	ExpiresAt   time.Time

	// Set when the user is authenticated.
	UserID      string
	SessionID   string
	AuthTime    time.Time
	AMR         []string
	ACR         string
	CompletedAt *time.Time

	// Authorization code (keyed hash) and its single use.
	CodeHash      string
	CodeExpiresAt time.Time
	CodeUsedAt    *time.Time
}

// Done reports whether the user has been authenticated for this request.
func (a AuthRequest) Done() bool { return a.CompletedAt != nil && a.UserID != "" }

// AuthRequestStore keeps authorization requests and their codes.
type AuthRequestStore interface {
	CreateAuthRequest(ctx context.Context, a AuthRequest) error
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	GetAuthRequestByCode(ctx context.Context, codeHash string) (AuthRequest, error)
	// UpdateAuthRequest loads the request, calls fn and stores the result
	// in one transaction.
	UpdateAuthRequest(ctx context.Context, id string, fn func(AuthRequest) (AuthRequest, error)) (AuthRequest, error)
	// SetAuthCode gives the request the code of codeHash, valid until
	// expiresAt, in one conditional UPDATE: ErrAlreadyUsed, and nothing
	// changed, when its code was exchanged already; ErrNotFound when there
	// is no such request.
	SetAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error
	// CompleteLogin records a finished sign-in in one transaction: it
	// creates or renews NewSession (when not nil), ends EndSession (when
	// not nil), marks the auth request done with the given user and
	// authentication facts, and appends Audit (when not nil).
	CompleteLogin(ctx context.Context, c LoginCompletion) error
}

// LoginCompletion is the input of CompleteLogin.
type LoginCompletion struct {
	AuthRequestID string
	UserID        string
	SessionID     string
	AuthTime      time.Time
	AMR           []string
	ACR           string
	Now           time.Time
	// NewSession is created; when a session with its id exists already
	// (the same user signing in again in this browser, keeping the `sid`
	// the clients know), that session's token hash, authentication facts,
	// client details and expiries are replaced instead.
	NewSession *Session
	// EndSession, when not nil, ends another session (of a different user
	// in this browser) as EndSessions does.
	EndSession *SessionEnd
	// ClaimCode, when set, claims that code (the emailed sign-in step, a
	// forced password change) as CompleteLogin's first step:
	// ErrAlreadyUsed, and nothing written, when it is no longer usable.
	ClaimCode *CodeClaim
	// Device, when set, records the browser for the user (created, or
	// its last use, expiry and OTPAt moved forward).
	Device *Device
	// Mail, when set, is enqueued (a sign-in notification).
	Mail  *OutboxMail
	Audit *AuditEvent
	// Interactive: the user signed in by hand (a typed password, a
	// completed reset), so the account's LastLoginAt becomes Now; never
	// for the reuse of an SSO session. ErrNotFound, and nothing written,
	// when the user does not exist. It also ends the dormant lock for
	// good: DormantAt and UnlockedUntil are cleared and every unused
	// unlock link of the user (PurposeUnlock) is spent.
	Interactive bool
	// Unlocked, when set with Interactive, is written too: the account
	// was locked and this sign-in unlocked it (account_unlocked).
	Unlocked *AuditEvent
}

// CodeClaim names a one-time code to claim: it must be usable at the
// claim's time, belong to UserID and have the purpose.
type CodeClaim struct {
	ID          string
	UserID      string
	Purpose     string
	MaxFailures int
	// Tried: the claimant took a try of the code (TakeCodeTry) and
	// compared it. The code may then have MaxFailures failures, that try
	// included (a right code on the last allowed try), but must have at
	// least one: a claim without a taken try cannot win.
	Tried bool
}

// AccessToken is the record behind every access token, JWT or opaque, so
// introspection and userinfo can tell a revoked or session-ended token.
type AccessToken struct {
	ID              string // the JWT `jti`, or the id inside an opaque token
	ClientID        string
	Subject         string // user id, or client id for client_credentials
	UserID          string // empty for client_credentials
	Audience        []string
	Scopes          []string
	SessionID       string
	RefreshFamilyID string
	AuthRequestID   string
	CreatedAt       time.Time
	ExpiresAt       time.Time
	RevokedAt       *time.Time
}

// Active reports whether the token may be used at now.
func (t AccessToken) Active(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// RefreshToken is one link of a rotation chain (a family). Using a token
// marks it used and issues the next link; presenting a used token again
// revokes the whole family.
type RefreshToken struct {
	ID              string
	TokenHash       string
	FamilyID        string
	ClientID        string
	UserID          string
	SessionID       string
	AuthRequestID   string
	Scopes          []string
	Audience        []string
	AMR             []string
	ACR             string
	AuthTime        time.Time
	CreatedAt       time.Time
	ExpiresAt       time.Time  // idle expiry of this link
	FamilyExpiresAt time.Time  // absolute expiry of the chain
	UsedAt          *time.Time // when it was rotated
	RevokedAt       *time.Time
	// SuccessorHash is the hash of the token its rotation issued.
	SuccessorHash string
}

// Active reports whether the token may be redeemed at now.
func (t RefreshToken) Active(now time.Time) bool {
	return t.UsedAt == nil && t.RevokedAt == nil && now.Before(t.ExpiresAt) && now.Before(t.FamilyExpiresAt)
}

// RefreshGrant is a refresh token with the account it was issued to and
// the account's organization, as they are now.
type RefreshGrant struct {
	Token        RefreshToken
	User         User
	Organization Organization
}

// TokenIssue is the input of IssueTokens: everything one token response
// writes, applied atomically.
type TokenIssue struct {
	// ClaimCodeOf, when set, claims the authorization code of this auth
	// request; ErrAlreadyUsed if it was claimed before.
	ClaimCodeOf string
	// RotateFromHash, when set, marks that refresh token used and
	// records RefreshToken's hash as its successor; ErrAlreadyUsed if it
	// was used or revoked before.
	RotateFromHash string
	// Reuse, when set, answers a refresh token presented again shortly
	// after its rotation: nothing is rotated and RefreshToken must be nil;
	// only the access token is inserted, and only while Reuse holds
	// (ErrAlreadyUsed otherwise).
	Reuse        *RefreshReuse
	AccessToken  AccessToken
	RefreshToken *RefreshToken
	Now          time.Time
}

// RefreshReuse names a rotated refresh token and what a reuse of it must
// find: rotated by ClientID at or after RotatedAfter, not revoked, with
// SuccessorHash as its successor, and that successor still unused,
// unrevoked and unexpired at the issue's time.
type RefreshReuse struct {
	TokenHash     string
	SuccessorHash string
	ClientID      string
	RotatedAfter  time.Time
}

// TokenStore keeps access and refresh tokens.
type TokenStore interface {
	// IssueTokens claims the code or rotates the refresh token named in
	// t, then inserts the new tokens, all in one transaction. When the
	// claim fails nothing is written and ErrAlreadyUsed is returned.
	IssueTokens(ctx context.Context, t TokenIssue) error
	// CreateAccessToken inserts one access token (client_credentials).
	// It need not be durable once it returns: a database crash may lose
	// it (the token then introspects inactive), never a later write.
	CreateAccessToken(ctx context.Context, t AccessToken) error
	GetAccessToken(ctx context.Context, id string) (AccessToken, error)
	RevokeAccessToken(ctx context.Context, id string, now time.Time) error
	GetRefreshToken(ctx context.Context, tokenHash string) (RefreshToken, error)
	// GetRefreshGrant returns the refresh token with its account and the
	// account's organization, in one read (a refresh needs all three):
	// ErrNotFound when the token or the account is gone.
	GetRefreshGrant(ctx context.Context, tokenHash string) (RefreshGrant, error)
	// RevokeRefreshFamily revokes every link of the family and every
	// access token issued from it.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error
	// RevokeAuthRequestTokens revokes every access and refresh token
	// issued from the auth request's code (code replay).
	RevokeAuthRequestTokens(ctx context.Context, authRequestID string, now time.Time) error
}

// Session is an SSO session of one browser. ID is the public `sid`; the
// cookie value is only ever stored as TokenHash.
type Session struct {
	ID                string
	TokenHash         string
	UserID            string
	AuthTime          time.Time
	AMR               []string
	ACR               string
	IP                string
	UserAgent         string
	CreatedAt         time.Time
	LastSeenAt        time.Time
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
	EndedAt           *time.Time
	// OldCookieName: the session began before its cookie was named
	// __Host-sekisho_session under https (migration 00009), so a browser
	// may still send it as sekisho_session. Only such a session is read
	// under the old name. New sessions never have it; a renewal (a new
	// cookie value) clears it.
	OldCookieName bool
}

// Active reports whether the session may be used at now.
func (s Session) Active(now time.Time) bool {
	return s.EndedAt == nil && now.Before(s.IdleExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// SessionStore keeps SSO sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (Session, error)
	// TouchSession records use of the session and moves its idle expiry.
	TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error
	// EndSessions ends the sessions e selects, revokes what they issued
	// and writes their back-channel logout deliveries, in one
	// transaction. A session ends once: ending it again changes nothing
	// and reports nothing. ErrNotFound when e.SessionID names no session.
	EndSessions(ctx context.Context, e SessionEnd) (SessionEndResult, error)
	ListUserSessions(ctx context.Context, userID string) ([]Session, error)
	// ListActiveSessions returns the user's sessions that may be used
	// at now, the last used first, each with the clients that received
	// tokens in it.
	ListActiveSessions(ctx context.Context, userID string, now time.Time) ([]ActiveSession, error)
}

// ActiveSession is a session that may still be used, with its clients.
type ActiveSession struct {
	Session
	// Clients received tokens in the session, the one that first did
	// so last (latest) first.
	Clients []string
}

// Reasons a session ends, recorded on its logout deliveries.
const (
	EndLogout         = "logout"           // the user signed out
	EndTimeout        = "timeout"          // idle or absolute expiry, found by the sweep
	EndReplaced       = "replaced"         // another user signed in in the same browser
	EndPasswordReset  = "password_reset"   // the password was reset
	EndPasswordChange = "password_changed" // the user changed the password
	EndDisabled       = "disabled"         // the account was disabled
	EndDeleted        = "deleted"          // the account was deleted
	EndRevoked        = "revoked"          // an operator or the user ended every session
	EndDormant        = "dormant"          // the account was locked for want of sign-ins
)

// SessionEnd selects sessions to end and says what ending them does.
// Exactly one of SessionID, UserID and Expired selects.
type SessionEnd struct {
	// SessionID ends one session.
	SessionID string
	// UserID ends every session of the user that has not ended.
	UserID string
	// Expired ends sessions whose idle or absolute expiry is at or
	// before Now, at most Limit of them (0 means 100), oldest first.
	Expired bool
	Limit   int

	Now    time.Time
	Reason string // one of the End* constants
	// RevokeAllTokens (with UserID) also revokes every token the user
	// holds outside those sessions: offline ones and those of sessions
	// that ended before (password reset, disable, operator action).
	RevokeAllTokens bool
	// KeepOffline lists clients whose refresh tokens survive the end of
	// the session (their access tokens do not). Ignored with
	// RevokeAllTokens.
	KeepOffline []string
	// Backchannel maps client ids to back-channel logout URIs. Each ended
	// session gets one pending delivery per client that received tokens
	// in it and is in this map.
	Backchannel map[string]string
	// KeepSessionID, with UserID, spares that session (the one the user
	// is changing their password in).
	KeepSessionID string
	// ClaimUntil, when set, writes the deliveries already claimed until
	// then (one attempt counted) for the caller to send at once, so no
	// other worker takes them first (SessionEndResult.Claimed).
	ClaimUntil time.Time
}

// EndedSession is a session that EndSessions ended.
type EndedSession struct {
	Session
	// Clients received tokens in the session (sorted).
	Clients []string
}

// SessionEndResult is what EndSessions ended and wrote.
type SessionEndResult struct {
	Ended      []EndedSession
	Deliveries []string // ids of the logout deliveries written
	// Claimed are those deliveries when SessionEnd.ClaimUntil was set.
	Claimed []LogoutDelivery
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // final: gave up or the client refused
	// DeliveryExpired (mails only) is final: the mail was not sent before
	// its ExpiresAt (the code or link it carries stopped working), and
	// never will be.
	DeliveryExpired = "expired"
)

// LogoutDelivery is one back-channel logout notification of one client
// about one ended session. The logout token is signed afresh for each
// attempt, so only what it says is stored.
type LogoutDelivery struct {
	ID        string
	SessionID string // the `sid`
	UserID    string // the `sub`
	ClientID  string // the `aud`
	URI       string
	Reason    string
	WorkState
}

// WorkState is the delivery state of a row of a work table (a logout
// delivery, a mail): claimed by a worker, attempted, retried or finished.
type WorkState struct {
	Status        string // DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliveryExpired
	Attempts      int    // attempts started (claims)
	NextAttemptAt time.Time
	ClaimedUntil  *time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
}

// DeliveryClaim selects pending deliveries to attempt now. A claim lasts
// until Lease; a worker that dies leaves the row to be claimed again then.
type DeliveryClaim struct {
	IDs   []string // only these (the sign-out page's own); empty: any due
	Now   time.Time
	Lease time.Time
	Limit int // 0 means 100
}

// DeliveryOutcome is the result of one attempt.
type DeliveryOutcome struct {
	Now       time.Time
	Delivered bool
	// Final, when not delivered: give up (the client refused, or too many
	// attempts). Otherwise the delivery is retried at NextAttemptAt.
	Final         bool
	NextAttemptAt time.Time
	Error         string
	// ClaimedUntil, when set, is the lease of the claim this attempt was
	// made under: the outcome is recorded only while the row is still
	// pending under that lease, so a worker whose lease ran out cannot
	// overwrite what a later claimer recorded (ErrConflict).
	ClaimedUntil time.Time
}

// DeliveryFilter narrows ListLogoutDeliveries. Zero values match all.
type DeliveryFilter struct {
	Status string
	Limit  int // 0 means 100
}

// LogoutStore keeps back-channel logout deliveries.
type LogoutStore interface {
	// ClaimLogoutDeliveries claims pending deliveries that are due (or
	// named in c.IDs) and not claimed by another worker, counts an
	// attempt on each and returns them. Concurrent claimers, in any
	// process, never get the same row while its lease runs.
	ClaimLogoutDeliveries(ctx context.Context, c DeliveryClaim) ([]LogoutDelivery, error)
	// FinishLogoutDelivery records the outcome of a claimed attempt.
	FinishLogoutDelivery(ctx context.Context, id string, o DeliveryOutcome) error
	// GetLogoutDelivery returns one delivery.
	GetLogoutDelivery(ctx context.Context, id string) (LogoutDelivery, error)
	// ListLogoutDeliveries returns matching deliveries, newest first.
	ListLogoutDeliveries(ctx context.Context, f DeliveryFilter) ([]LogoutDelivery, error)
	// LogoutQueue counts deliveries by status and finds the oldest
	// pending one.
	LogoutQueue(ctx context.Context) (QueueStats, error)
}

// QueueStats is a work table (the mail outbox, the logout deliveries) at
// one moment, as metrics show it.
type QueueStats struct {
	// ByStatus counts rows by status (Delivery*); finished rows stay
	// until DeleteExpired removes them.
	ByStatus map[string]int
	// OldestPending is the CreatedAt of the oldest pending row; zero
	// when none is pending.
	OldestPending time.Time
}

// OutboxMail is one message in the mail outbox. Body is the composed
// message sealed by the caller; it is dropped once the mail is delivered,
// keeping what an operator needs.
type OutboxMail struct {
	ID        string
	Recipient string // envelope recipient
	Subject   string
	Template  string // which mail: login_code, reset_code, ...
	Body      []byte // sealed; nil once delivered or expired
	// ExpiresAt, when set, is when the mail stops being worth sending
	// (the code or link it carries expires then): it is never sent at or
	// after it. Nil: no expiry.
	ExpiresAt *time.Time
	WorkState
}

// MailStore keeps the mail outbox. Flows that send a mail with a change
// (a code, a link) pass the mail to that change's method, which writes
// both in one transaction; EnqueueMail is for mails on their own.
type MailStore interface {
	// EnqueueMail writes the mails in one transaction.
	EnqueueMail(ctx context.Context, ms ...OutboxMail) error
	// ClaimMail claims due (or named) pending mails, like
	// ClaimLogoutDeliveries, except mails whose ExpiresAt is at or before
	// c.Now: those are never claimed.
	ClaimMail(ctx context.Context, c DeliveryClaim) ([]OutboxMail, error)
	// ExpireMail finishes the pending mails whose ExpiresAt is at or
	// before now and that no claim holds: they become DeliveryExpired
	// (final, body dropped). It reports how many it finished; concurrent
	// callers, in any process, never count the same mail.
	ExpireMail(ctx context.Context, now time.Time) (int, error)
	// FinishMail records an attempt; a delivered mail loses its body.
	FinishMail(ctx context.Context, id string, o DeliveryOutcome) error
	GetMail(ctx context.Context, id string) (OutboxMail, error)
	// ListMail returns matching mails, newest first.
	ListMail(ctx context.Context, f DeliveryFilter) ([]OutboxMail, error)
	// MailQueue counts mails by status and finds the oldest pending one.
	MailQueue(ctx context.Context) (QueueStats, error)
	// RetryMail makes a failed or pending mail due now, with a fresh
	// count of attempts. ErrConflict when it was delivered or expired (its
	// body is gone).
	RetryMail(ctx context.Context, id string, now time.Time) error
}

// Purposes of one-time codes.
const (
	PurposeReset = "reset" // password reset by emailed code
	PurposeLogin = "login" // the emailed sign-in step
	// PurposeChange is a ticket for the forced password change after a
	// sign-in (no code is mailed).
	PurposeChange = "change"
	// PurposeVerifyEmail is an emailed link that verifies Email.
	PurposeVerifyEmail = "verify_email"
)

// OneTimeCode is an emailed code. The browser holds a ticket naming it;
// code and ticket are stored only as keyed hashes.
type OneTimeCode struct {
	ID            string
	Purpose       string
	UserID        string
	AuthRequestID string // the sign-in it belongs to, if any
	TicketHash    string
	CodeHash      string
	// Email is the address a verification link proves.
	Email string
	// AMR is what the sign-in proved before a forced password change,
	// and ACR the value it keeps when not the one AMR implies (legacy).
	AMR       []string
	ACR       string
	Failures  int // wrong tries so far
	Sends     int // mails sent for it
	CreatedAt time.Time
	SentAt    time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time // used, or voided by a newer code

	// BrowserHash binds a sign-in step (code, forced change, reset) to the
	// browser that started it: the keyed hash of its step cookie.
	BrowserHash string
}

// Usable reports whether the code may still be tried at now.
func (c OneTimeCode) Usable(now time.Time, maxFailures int) bool {
	return c.UsedAt == nil && now.Before(c.ExpiresAt) && c.Failures < maxFailures
}

// PasswordChange is the input of ChangePassword.
type PasswordChange struct {
	// Code, when set, is claimed first (a reset code, a forced-change
	// ticket).
	Code         *CodeClaim
	Now          time.Time
	UserID       string
	PasswordHash string
	// VerifyEmail marks the email verified (a reset code proved the
	// mailbox). An imported user also migrates then: the legacy hash is
	// dropped and MigratedAt set.
	VerifyEmail bool
	// AcceptInvitation ends the user's invitation (InvitedAt cleared) and
	// records the sign-in it is (LastLoginAt = Now).
	AcceptInvitation bool
	// End, when set, ends sessions of the user (and notifies their
	// clients).
	End   *SessionEnd
	Mail  *OutboxMail // "your password was changed"
	Audit *AuditEvent
}

// CodeRenewal is the input of RenewCode.
type CodeRenewal struct {
	ID          string
	CodeHash    string
	Now         time.Time
	ExpiresAt   time.Time
	MaxFailures int
	Mail        OutboxMail
}

// CodeTry is the input of TakeCodeTry.
type CodeTry struct {
	ID          string
	MaxFailures int
	Now         time.Time
	// Limit, when set, is taken with the try (wrong codes per account):
	// the try is taken only when the limit allows it too.
	Limit *Limit
}

// CodeTryResult is what TakeCodeTry did.
type CodeTryResult struct {
	// Code is the code after the try: the one to compare with.
	Code OneTimeCode
	// Taken: the try was counted and may be compared.
	Taken bool
	// Limited: the code allowed the try, the Limit did not.
	Limited bool
	// Counter is the Limit's counter after the try (or as it stood when
	// the try was refused).
	Counter Counter
}

// EmailChange is the input of ChangeEmail. Either a verification link
// proves the new address (Code: the link's Email becomes the account's,
// verified), or a trusted caller sets it (UserID, Email, Verified: the
// product's back end, the authority for its users' addresses).
type EmailChange struct {
	Code     *CodeClaim
	UserID   string
	Email    string
	Verified bool
	Now      time.Time
	// Mail, when set, is enqueued (the notice to the old address).
	Mail  *OutboxMail
	Audit *AuditEvent
}

// CodeStore keeps emailed one-time codes.
type CodeStore interface {
	// CreateCode stores c, voids the user's other unused codes of the
	// same purpose and enqueues mail (when not nil), in one transaction.
	// The mail carries the code: it expires with it (its ExpiresAt is
	// c.ExpiresAt).
	CreateCode(ctx context.Context, c OneTimeCode, mail *OutboxMail) error
	GetCodeByTicket(ctx context.Context, ticketHash string) (OneTimeCode, error)
	// TakeCodeTry takes one try of a code before it is compared: in one
	// transaction, when the code is usable at t.Now with t.MaxFailures and
	// t.Limit (when set) allows an attempt, it counts the try as a failure
	// and the attempt under the limit; otherwise it changes nothing.
	// Concurrent tries never take more than MaxFailures. ErrNotFound when
	// there is no such code.
	TakeCodeTry(ctx context.Context, t CodeTry) (CodeTryResult, error)
	// ReturnCodeTry gives back a try that was right but could not be used
	// (a reset code with a new password the policy refused).
	ReturnCodeTry(ctx context.Context, id string) error
	// ClaimCode marks a usable code used (ErrAlreadyUsed when it is not
	// usable or not c's; ErrNotFound when there is none).
	ClaimCode(ctx context.Context, c CodeClaim, now time.Time) error
	// RenewCode gives a code that is not used and not exhausted a new
	// code hash and expiry (a resend: the previous code stops working,
	// the wrong tries stay counted), counts the send and enqueues the
	// mail, which expires with the new code (r.ExpiresAt), in one
	// transaction. ErrConflict when the code is used or
	// exhausted.
	RenewCode(ctx context.Context, r CodeRenewal) (OneTimeCode, error)
	// ChangePassword claims p.Code when set (ErrAlreadyUsed when it is no
	// longer usable), sets the user's password (clearing
	// MustChangePassword), marks the email verified when asked, ends the
	// sessions p.End selects, and writes the mail and the audit event, in
	// one transaction.
	ChangePassword(ctx context.Context, p PasswordChange) (SessionEndResult, error)
	// ChangeEmail sets the user's address, in one transaction: it claims
	// c.Code first when set (ErrAlreadyUsed when it is no longer usable)
	// and takes the address from it. ErrAlreadyExists, and nothing
	// changed, when another account has the address; ErrNotFound when
	// there is no such user. When the address differs from the current
	// one, the codes and links still mailed to the old address (reset,
	// sign-in, verification) stop working. It returns the updated user.
	ChangeEmail(ctx context.Context, c EmailChange) (User, error)
}

// Device is a browser that signed in as a user (the device cookie, stored
// as a keyed hash). OTPAt is when it last passed the emailed sign-in step.
type Device struct {
	ID         string
	UserID     string
	TokenHash  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	OTPAt      *time.Time
	ExpiresAt  time.Time
}

// DeviceStore keeps the browsers users signed in with.
type DeviceStore interface {
	// GetDevice returns the user's device with the token hash, expired or
	// not; ErrNotFound when there is none.
	GetDevice(ctx context.Context, tokenHash, userID string) (Device, error)
}

// SigningKey is a token signing key. The private key is encrypted by the
// caller before it reaches storage; the public key is stored in the clear.
type SigningKey struct {
	ID                  string // kid
	Algorithm           string // RS256, ES256
	PrivateKeyEncrypted []byte
	PublicKey           []byte // PKIX DER
	CreatedAt           time.Time
	ActivatesAt         time.Time  // signs from then on
	RetiresAt           *time.Time // leaves the JWKS then
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// ListSigningKeys returns every key, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// EnsureSigningKey makes sure a key that is not retired exists. Under
	// a lock that serialises replicas, it calls generate and inserts its
	// key only when none exists. It reports whether it inserted one.
	EnsureSigningKey(ctx context.Context, now time.Time, generate func() (SigningKey, error)) (bool, error)
	// RotateSigningKey inserts k and sets RetiresAt = retireAt on every
	// other key that has no retirement yet, in one transaction.
	RotateSigningKey(ctx context.Context, k SigningKey, retireAt time.Time) error
}

// AuditEvent is one security-relevant event. Emails are never stored in
// full here; UserID identifies the account.
type AuditEvent struct {
	ID   string
	Time time.Time
	Type string // login, login_failed, logout, user_disabled, ...
	// OrganizationID is the organization the event belongs to (the
	// member's, or the one an administrator acted in), or empty.
	OrganizationID string
	// ActorID is who acted (an administrator), when not UserID.
	ActorID  string
	UserID   string
	ClientID string
	IP       string
	Outcome  string // success, failure
	Detail   string
}

// AuditFilter narrows ListAuditEvents. Zero values match everything.
type AuditFilter struct {
	OrganizationID string
	UserID         string
	// Member matches the events about the account (UserID) and those it
	// caused as an administrator (ActorID).
	Member string
	Type   string
	Since  time.Time
	Limit  int // 0 means 100
	Offset int
}

// AuditStore keeps audit events.
type AuditStore interface {
	// AddAuditEvent stores e. An event without OrganizationID whose
	// UserID names an account belongs to that account's organization.
	AddAuditEvent(ctx context.Context, e AuditEvent) error
	// ListAuditEvents returns matching events, newest first.
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// Counter counts attempts under a key within a window (password checks
// per account or per client IP, mails sent per address, wrong codes per
// account).
type Counter struct {
	Key         string
	Count       int
	WindowStart time.Time
	Last        time.Time // the last attempt counted
	// NextAllowedAt, when set, is the earliest time the next attempt may
	// be taken (a delay after the free attempts, or the end of the window
	// of a cap).
	NextAllowedAt *time.Time
	// NoticeAt is when NoticeAtLimit last wrote its mail for the counter.
	NoticeAt *time.Time
}

// Limit is the rule one counter follows. Attempts are counted within
// Window, counted from the first one. The first Free attempts of a window
// go through at once. After the n-th attempt (n ≥ Free) the next one
// waits BaseDelay·2^(n−Free), at most MaxDelay (or Window, when MaxDelay
// is zero), from the n-th; with a zero BaseDelay it waits until the
// window is over (an hourly cap of Free attempts).
type Limit struct {
	Key       string
	Free      int
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Window    time.Duration
}

// NextAllowed is when the attempt after the n-th of a window that
// started at windowStart may be taken, the n-th being taken at now; ok is
// false when it may be taken at once.
func (l Limit) NextAllowed(n int, now, windowStart time.Time) (next time.Time, ok bool) {
	switch {
	case n < l.Free:
		return time.Time{}, false
	case l.BaseDelay <= 0:
		return windowStart.Add(l.Window), true
	}
	limit := l.MaxDelay
	if limit <= 0 {
		limit = l.Window
	}
	d := l.BaseDelay
	for i := 0; i < n-l.Free && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return now.Add(d), true
}

// CounterStore keeps rate counters. Every limit is taken before the
// check it guards, atomically, so concurrent requests on any number of
// replicas cannot pass it together.
type CounterStore interface {
	// TakeAttempt takes one attempt under every limit at once, in one
	// transaction: only when each of them allows an attempt at now (its
	// NextAllowedAt, if any, has come) is the attempt counted on each,
	// with the NextAllowedAt its rule gives; otherwise nothing changes and
	// it reports false. A counter whose window is over starts again. A key
	// given twice counts once, under its first limit.
	TakeAttempt(ctx context.Context, now time.Time, limits ...Limit) (bool, error)
	// ReturnAttempt gives back one attempt taken under each key that
	// turned out not to count against it (a right code; a right password,
	// for its client address) and lifts the key's running delay.
	ReturnAttempt(ctx context.Context, keys ...string) error
	// NoticeAtLimit writes m, in one transaction with marking the
	// counter, when l's counter has reached l.Free attempts in its
	// current window and no notice was written for that window yet; it
	// reports whether it wrote it. Concurrent callers write one mail.
	NoticeAtLimit(ctx context.Context, l Limit, now time.Time, m OutboxMail) (bool, error)
	// GetCounters returns the counters that exist among keys.
	GetCounters(ctx context.Context, keys []string) (map[string]Counter, error)
	// ResetCounters forgets the keys (a right password clears the
	// account's count).
	ResetCounters(ctx context.Context, keys []string) error
}
