// Package config is sekisho's configuration schema: one typed struct tree
// decoded strictly from YAML, its defaults, and a Validate that reports every
// problem at once, naming the bad key.
//
// Start-up reads a file with Load (or takes Dev for `serve --dev`), then
// calls ApplyEnv(os.Getenv), ApplyDefaults and Validate, in that order.
// testdata/example.yaml documents every key.
package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/sekisho/sekisho/i18n"
)

// Config is the whole configuration file.
type Config struct {
	Issuer         string         `yaml:"issuer"`
	Listen         string         `yaml:"listen"`
	Database       Database       `yaml:"database"`
	SMTP           SMTP           `yaml:"smtp"`
	Clients        []Client       `yaml:"clients"`
	Lifetimes      Lifetimes      `yaml:"lifetimes"`
	Refresh        Refresh        `yaml:"refresh"`
	Session        Session        `yaml:"session"`
	Logout         Logout         `yaml:"logout"`
	Reset          Reset          `yaml:"reset"`
	OTP            OTP            `yaml:"otp"`
	MFA            MFA            `yaml:"mfa"`
	Notify         Notify         `yaml:"notify"`
	Email          Email          `yaml:"email"`
	Legacy         Legacy         `yaml:"legacy"`
	PasswordPolicy PasswordPolicy `yaml:"password_policy"`
	Password       Password       `yaml:"password"`
	Keys           Keys           `yaml:"keys"`
	Throttle       Throttle       `yaml:"throttle"`
	TrustedProxies []string       `yaml:"trusted_proxies"`
	Log            Log            `yaml:"log"`
	SweepInterval  Duration       `yaml:"sweep_interval"`
	ShutdownGrace  Duration       `yaml:"shutdown_grace"`
	Limits         RequestLimits  `yaml:"limits"`
	Metrics        Metrics        `yaml:"metrics"`
	UI             UI             `yaml:"ui"`
	HTTP           HTTP           `yaml:"http"`
	Login          Login          `yaml:"login"`
	Roles          []Role         `yaml:"roles"`
	Organizations  Organizations  `yaml:"organizations"`
	Invitation     Invitation     `yaml:"invitation"`
	Admin          Admin          `yaml:"admin"`
	Lifecycle      Lifecycle      `yaml:"lifecycle"`
	Branding       Branding       `yaml:"branding"`

	// Secret is SEKISHO_SECRET (base64, at least 32 bytes decoded). It is
	// never read from the file.
	Secret string `yaml:"-"`
	// Dev is set by `serve --dev`: fixed dev secret, demo client and user,
	// mails to the log, short secrets allowed.
	Dev bool `yaml:"-"`
}

// Client returns the registered client with the given id.
func (c *Config) Client(id string) (Client, bool) {
	for _, cl := range c.Clients {
		if cl.ID == id {
			return cl, true
		}
	}
	return Client{}, false
}

// Database selects the storage engine.
type Database struct {
	Driver       string `yaml:"driver"` // sqlite | postgres
	DSN          string `yaml:"dsn"`    // file path for sqlite, URL for postgres
	MaxOpenConns int    `yaml:"max_open_conns"`
}

// SMTP is the outgoing mail server and the mail outbox.
type SMTP struct {
	Host     string   `yaml:"host"`
	Port     int      `yaml:"port"`
	Security string   `yaml:"security"` // none | starttls | tls
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
	From     string   `yaml:"from"`
	Timeout  Duration `yaml:"timeout"`
	// The outbox: how often each replica looks for due mails, the wait
	// before the second attempt (doubled after), and when to give up.
	PollInterval Duration `yaml:"poll_interval"`
	RetryDelay   Duration `yaml:"retry_delay"`
	MaxAttempts  int      `yaml:"max_attempts"`
}

// Client is a relying application registered by the operator.
type Client struct {
	ID string `yaml:"id"`
	// Name is what people see ("continue to …"): one string, or ja and
	// en; empty shows the id.
	Name                   Labels   `yaml:"name"`
	Secret                 string   `yaml:"secret"`
	SecretSHA256           string   `yaml:"secret_sha256"`
	RedirectURIs           []string `yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
	// InitiateLoginURI starts a sign-in at the client (OpenID Connect
	// Core §4, with iss): where the page of an expired sign-in sends a
	// person to start again. Empty: the client's home (HomeURL).
	InitiateLoginURI                  string `yaml:"initiate_login_uri"`
	BackchannelLogoutURI              string `yaml:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired  bool   `yaml:"backchannel_logout_session_required"`
	FrontchannelLogoutURI             string `yaml:"frontchannel_logout_uri"`
	FrontchannelLogoutSessionRequired bool   `yaml:"frontchannel_logout_session_required"`
	// KeepOfflineTokensOnLogout: the client's offline_access refresh
	// tokens survive the user's sign-out and session timeouts (never a
	// password reset, disable, delete or operator revocation).
	KeepOfflineTokensOnLogout bool `yaml:"keep_offline_tokens_on_logout"`
	// OTP "always" requires the emailed sign-in step for this client,
	// whatever otp.policy says; empty follows the policy.
	OTP string `yaml:"otp"`
	// MFA "required" requires a strong factor (authenticator app,
	// passkey, recovery code) for this client, whatever mfa.policy says;
	// empty follows the policy.
	MFA string `yaml:"mfa"`
	// LegacyClaims: tokens carry `legacy_id` when the client asks for
	// scope `legacy`.
	LegacyClaims      bool            `yaml:"legacy_claims"`
	GrantTypes        []string        `yaml:"grant_types"`
	Scopes            []string        `yaml:"scopes"`
	AccessTokenFormat string          `yaml:"access_token_format"` // jwt | opaque
	RequirePKCE       *bool           `yaml:"require_pkce"`
	AllowedOrigins    []string        `yaml:"allowed_origins"`
	Lifetimes         ClientLifetimes `yaml:"lifetimes"`
	// IntrospectFor lists the clients whose access tokens this client
	// (a resource server) may introspect, besides its own.
	IntrospectFor []string `yaml:"introspect_for"`
	// Organizations, when set, limits the client to the members of these
	// organizations (codes); a member of another one gets the ordinary
	// failure answer at sign-in.
	Organizations []string `yaml:"organizations"`
}

// Public reports whether the client has no secret (PKCE, auth method none).
func (c Client) Public() bool { return c.Secret == "" && c.SecretSHA256 == "" }

// PKCERequired reports whether authorization requests must carry an S256
// code challenge: always for public clients, by default for the others.
func (c Client) PKCERequired() bool {
	return c.Public() || c.RequirePKCE == nil || *c.RequirePKCE
}

// RegisteredURI reports whether uri is exactly one of the client's
// redirect or post-logout URIs (where a product's reset link may return).
func (c Client) RegisteredURI(uri string) bool {
	return uri != "" && (slices.Contains(c.RedirectURIs, uri) || slices.Contains(c.PostLogoutRedirectURIs, uri))
}

// HasGrant reports whether the client may use the grant type.
func (c Client) HasGrant(g string) bool {
	for _, x := range c.GrantTypes {
		if x == g {
			return true
		}
	}
	return false
}

// ClientLifetimes override the global token lifetimes for one client.
// Zero means "use the global value".
type ClientLifetimes struct {
	AccessToken          Duration `yaml:"access_token"`
	IDToken              Duration `yaml:"id_token"`
	RefreshTokenIdle     Duration `yaml:"refresh_token_idle"`
	RefreshTokenAbsolute Duration `yaml:"refresh_token_absolute"`
}

// Lifetimes of protocol artefacts.
type Lifetimes struct {
	AuthRequest          Duration `yaml:"auth_request"`
	Code                 Duration `yaml:"code"`
	AccessToken          Duration `yaml:"access_token"`
	IDToken              Duration `yaml:"id_token"`
	RefreshTokenIdle     Duration `yaml:"refresh_token_idle"`
	RefreshTokenAbsolute Duration `yaml:"refresh_token_absolute"`
}

// Refresh configures refresh-token rotation.
type Refresh struct {
	// ReuseWindow: a refresh token presented again by the same client
	// within this time after its rotation gets the same successor (one
	// live chain) instead of revoking the family. Off: strict rotation.
	ReuseWindow Duration `yaml:"reuse_window"`
}

// Session configures SSO sessions.
type Session struct {
	Idle     Duration `yaml:"idle"`
	Absolute Duration `yaml:"absolute"`
}

// Logout configures single logout: the back-channel deliveries and the
// sweep that ends expired sessions.
type Logout struct {
	// Wait bounds how long the sign-out page waits for back-channel
	// deliveries before it moves on; the rest continue in the background.
	Wait Duration `yaml:"wait"`
	// DeliveryTimeout bounds one POST to a client.
	DeliveryTimeout Duration `yaml:"delivery_timeout"`
	// RetryDelay is the wait before the second attempt, doubled for each
	// further one (at most an hour).
	RetryDelay Duration `yaml:"retry_delay"`
	// MaxAttempts: after this many, a delivery is marked failed.
	MaxAttempts int `yaml:"max_attempts"`
	// Parallel is how many deliveries a replica sends at once.
	Parallel int `yaml:"parallel"`
	// PollInterval is how often a replica looks for due deliveries.
	PollInterval Duration `yaml:"poll_interval"`
	// ExpirySweepInterval is how often a replica ends (and announces)
	// sessions whose idle or absolute time ran out.
	ExpirySweepInterval Duration `yaml:"expiry_sweep_interval"`
	// TokenLifetime is the `exp` of logout tokens, counted from `iat`.
	TokenLifetime Duration `yaml:"token_lifetime"`
}

// Reset configures the password reset by emailed code.
type Reset struct {
	CodeLifetime    Duration `yaml:"code_lifetime"`
	MaxFailures     int      `yaml:"max_failures"`       // wrong codes before the code ends
	PerEmailPerHour int      `yaml:"per_email_per_hour"` // codes sent to one address
	PerIPPerHour    int      `yaml:"per_ip_per_hour"`    // codes asked for from one client IP
	// ResponseFloor is the least time a code request takes, so the
	// answer's timing does not tell whether the account exists.
	ResponseFloor Duration `yaml:"response_floor"`
}

// OTP policies: when the emailed sign-in step runs after the password.
const (
	OTPOff       = "off"        // never (unless a client requires it)
	OTPOptional  = "optional"   // for users who turned it on in /account
	OTPNewDevice = "new_device" // when this browser has not passed it for the user
	OTPAlways    = "always"
)

// OTP configures the emailed one-time code at sign-in.
type OTP struct {
	Policy          string   `yaml:"policy"` // off | optional | new_device | always
	CodeLifetime    Duration `yaml:"code_lifetime"`
	MaxFailures     int      `yaml:"max_failures"`       // wrong codes before the challenge ends
	ResendCooldown  Duration `yaml:"resend_cooldown"`    // least time between two mails
	MaxSendsPerHour int      `yaml:"max_sends_per_hour"` // codes mailed to one user per hour
	// MaxFailuresPerHour caps the wrong codes of one account in an hour,
	// across its codes: then codes are refused until the hour is over,
	// and the owner gets one notice.
	MaxFailuresPerHour int `yaml:"max_failures_per_hour"`
	// RememberDevice is how long a browser that passed the step skips it
	// under policy new_device (the device cookie's lifetime).
	RememberDevice Duration `yaml:"remember_device"`
}

// MFA policies (mfa.policy, an organization's own, clients[].mfa): strong
// factors (authenticator apps, passkeys, recovery codes). The strictest of
// the deployment's, the organization's and the client's applies.
const (
	MFAOff      = "off"      // not offered, not asked (stored factors stay, unused)
	MFAOptional = "optional" // users may enrol; one who did is asked at every password sign-in
	MFARequired = "required" // a user without one enrols at the next sign-in
)

// MFA configures strong factors.
type MFA struct {
	Policy string `yaml:"policy"` // off | optional | required
	// MaxAge is how recent a sign-in /account needs to add or remove a
	// factor or renew the recovery codes; an older session signs in again.
	MaxAge Duration `yaml:"max_age"`
}

// Notify configures mails about account activity.
type Notify struct {
	Login string `yaml:"login"` // off | new_device | always: a mail after each sign-in
}

// Legacy configures the bridge for users imported from a legacy product.
type Legacy struct {
	Enabled bool `yaml:"enabled"`
	// Name is how the product is named on pages and in mails: one
	// string, or ja and en.
	Name Labels `yaml:"name"`
	// WindowEndsAt ends the migration window (RFC 3339 with its offset);
	// empty: no end yet.
	WindowEndsAt string `yaml:"window_ends_at"`
	// CheckFloor is the least time a failing password check takes, so
	// imported hashes (which cost differently) do not tell which accounts
	// exist.
	CheckFloor Duration `yaml:"check_floor"`
}

// WindowEnd parses WindowEndsAt; ok is false when no end is set.
func (l Legacy) WindowEnd() (t time.Time, ok bool, err error) {
	if l.WindowEndsAt == "" {
		return time.Time{}, false, nil
	}
	t, err = time.Parse(time.RFC3339, l.WindowEndsAt)
	return t, err == nil, err
}

// Email configures email verification.
type Email struct {
	VerifyLifetime Duration `yaml:"verify_lifetime"` // how long a verification link works
}

// PasswordPolicy configures the rules for new passwords (reset, change,
// CLI). A preset gives every rule; the other keys override it.
type PasswordPolicy struct {
	Preset           string `yaml:"preset"` // default | nist
	MinLength        int    `yaml:"min_length"`
	MaxLength        int    `yaml:"max_length"`
	RequireUpper     *bool  `yaml:"require_upper"`
	RequireLower     *bool  `yaml:"require_lower"`
	RequireDigit     *bool  `yaml:"require_digit"`
	RequireSymbol    *bool  `yaml:"require_symbol"`
	ForbidIdentifier *bool  `yaml:"forbid_identifier"`
	ForbidCurrent    *bool  `yaml:"forbid_current"`
	Blocklist        *bool  `yaml:"blocklist"`
}

// Password configures argon2id hashing.
type Password struct {
	MemoryKiB     uint32 `yaml:"memory_kib"`
	Iterations    uint32 `yaml:"iterations"`
	Parallelism   uint8  `yaml:"parallelism"`
	MaxConcurrent int    `yaml:"max_concurrent"` // 0: GOMAXPROCS
}

// Keys configures token signing keys.
type Keys struct {
	Algorithm       string   `yaml:"algorithm"`        // RS256 | ES256
	RefreshInterval Duration `yaml:"refresh_interval"` // how often replicas reload keys
}

// Throttle configures the growing delay after wrong passwords.
type Throttle struct {
	FreeFailures int      `yaml:"free_failures"` // failures before delays start
	BaseDelay    Duration `yaml:"base_delay"`    // first delay, doubled per further failure
	MaxDelay     Duration `yaml:"max_delay"`
	Window       Duration `yaml:"window"` // failures older than this are forgotten
}

// Log configures log output.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // json | text
}

// Sign-in identifier modes (login.identifier).
const (
	IdentifierEmail           = "email"
	IdentifierOrgUsername     = "organization+username"
	IdentifierOrgEmail        = "organization+email"
	defaultTimeZone           = "Asia/Tokyo"
	defaultInvitationLifetime = 72 * time.Hour
	defaultAdminMaxAge        = time.Hour
	// DefaultDormantAfter is lifecycle.dormant_after's default (90 days).
	DefaultDormantAfter = 90 * 24 * time.Hour
	// DefaultUnlockLinkLifetime is lifecycle.unlock_link_lifetime's.
	DefaultUnlockLinkLifetime  = 24 * time.Hour
	defaultLabelOrganizationJA = "組織コード"
	defaultLabelOrganizationEN = "Organization code"
	defaultLabelUsernameJA     = "アカウント名"
	defaultLabelUsernameEN     = "Account name"
)

// Labels is a text in each page language (ja, en). The file gives it as
// a mapping with both keys, or as one string for both languages.
type Labels struct {
	JA string `yaml:"ja"`
	EN string `yaml:"en"`
}

// UnmarshalYAML reads a string (the same text in both languages) or a
// mapping of ja and en.
func (l *Labels) UnmarshalYAML(n ast.Node) error {
	switch v := n.(type) {
	case *ast.NullNode:
		return nil
	case *ast.StringNode:
		*l = Labels{JA: v.Value, EN: v.Value}
		return nil
	case *ast.MappingNode, *ast.MappingValueNode:
		var m struct {
			JA string `yaml:"ja"`
			EN string `yaml:"en"`
		}
		if err := yaml.NodeToValue(n, &m, yaml.Strict()); err != nil {
			return fmt.Errorf("%s (line %d): %w", keyPath(n), n.GetToken().Position.Line, oneLine(err))
		}
		*l = Labels(m)
		return nil
	}
	return fmt.Errorf("%s (line %d): want a string, or a mapping of ja and en", keyPath(n), n.GetToken().Position.Line)
}

// Text is the text as the pages and mails take it.
func (l Labels) Text() i18n.Text { return i18n.Text(l) }

// Partial reports whether one language is given and the other is not.
func (l Labels) Partial() bool { return (l.JA == "") != (l.EN == "") }

// In returns the text for a language code ("ja" or anything else: en).
func (l Labels) In(lang string) string {
	if lang == "ja" {
		return l.JA
	}
	return l.EN
}

// Login configures what the sign-in form asks for.
type Login struct {
	// Identifier is email (default), organization+username or
	// organization+email.
	Identifier string      `yaml:"identifier"`
	Labels     LoginLabels `yaml:"labels"`
}

// HasOrganization reports whether people type an organization code.
func (l Login) HasOrganization() bool { return l.Identifier != IdentifierEmail }

// ByUsername reports whether people sign in with an account name.
func (l Login) ByUsername() bool { return l.Identifier == IdentifierOrgUsername }

// LoginLabels are the sign-in form's field labels per language.
type LoginLabels struct {
	Organization Labels `yaml:"organization"`
	Username     Labels `yaml:"username"`
}

// Role is a role members hold, declared highest rank first.
type Role struct {
	Name          string `yaml:"name"`
	Labels        Labels `yaml:"labels"`
	ManageMembers bool   `yaml:"manage_members"`
}

// Rank returns the rank of a declared role (0 is the highest) and
// whether it may manage members; ok is false for an undeclared one.
func (c *Config) Rank(role string) (rank int, manage, ok bool) {
	for i, r := range c.Roles {
		if r.Name == role {
			return i, r.ManageMembers, true
		}
	}
	return 0, false, false
}

// TopRole is the highest declared role, or empty.
func (c *Config) TopRole() string {
	if len(c.Roles) == 0 {
		return ""
	}
	return c.Roles[0].Name
}

// DefaultRole is the role a member gets when none is given: the lowest
// declared one, or empty.
func (c *Config) DefaultRole() string {
	if len(c.Roles) == 0 {
		return ""
	}
	return c.Roles[len(c.Roles)-1].Name
}

// Organizations configures organizations.
type Organizations struct {
	// DefaultTimeZone is the IANA time zone of a new organization.
	DefaultTimeZone string `yaml:"default_time_zone"`
	// MaxMembers limits every organization's members (0: no limit); an
	// organization's own limit overrides it.
	MaxMembers int `yaml:"max_members"`
}

// Invitation configures invitations to new members.
type Invitation struct {
	Lifetime Duration `yaml:"lifetime"` // how long an invitation link works
}

// Admin configures the administration console.
type Admin struct {
	// MaxAge is how recent a sign-in the console needs; an older session
	// is asked for the password again.
	MaxAge Duration `yaml:"max_age"`
}

// Lifecycle configures the dormant-account lock.
type Lifecycle struct {
	// DormantAfter is the period without an interactive sign-in after
	// which an account is locked; Off turns the lock off.
	DormantAfter Duration `yaml:"dormant_after"`
	// UnlockLinkLifetime is how long the identity-confirmation link a
	// locked account is mailed works.
	UnlockLinkLifetime Duration `yaml:"unlock_link_lifetime"`
	// RevokeOnDormant: when the sweep marks an account dormant, its
	// sessions end, its tokens (offline ones included) are revoked and its
	// clients get back-channel logout tokens. Nil: true.
	RevokeOnDormant *bool `yaml:"revoke_on_dormant"`
}

// DormantAfterD is the lock's period as a time.Duration; 0 when the lock
// is off.
func (l Lifecycle) DormantAfterD() time.Duration {
	if l.DormantAfter.IsOff() {
		return 0
	}
	return l.DormantAfter.D()
}

// Revokes reports whether marking an account dormant revokes its tokens.
func (l Lifecycle) Revokes() bool { return l.RevokeOnDormant == nil || *l.RevokeOnDormant }

// HTTP configures response headers.
type HTTP struct {
	// HSTSIncludeSubdomains adds includeSubDomains to
	// Strict-Transport-Security (sent only under an https issuer): every
	// subdomain of the issuer's host must then serve https.
	HSTSIncludeSubdomains bool `yaml:"hsts_include_subdomains"`
}

// RequestLimits bound what clients may send, and the process's memory.
type RequestLimits struct {
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MemoryMiB is the Go runtime's soft memory limit in MiB; 0: none
	// (the runtime's default). A limit close to the sign-in peak makes
	// the runtime collect and return memory after nearly every password
	// hash, whose next 19 MiB is then faulted in and zeroed again: on 2
	// cores, 48 MiB plus one hash per gate slot cost 40 % of the sign-in
	// rate. Set it only where memory is scarcer than CPU.
	MemoryMiB int `yaml:"memory_mib"`
}

// UI configures the languages of pages and mails.
type UI struct {
	// DefaultLanguage ("ja" or "en") is the language of a page when the
	// browser names none we have (no ui_locales, lang cookie or
	// Accept-Language match), of mails sent without a request to an
	// account with no language of its own, and of `user add` without
	// --lang.
	DefaultLanguage string `yaml:"default_language"`
}

// Metrics configures the operators' listener.
type Metrics struct {
	// Listen, when set, serves /metrics and the Go profiler
	// (/debug/pprof/) on their own address (keep it internal), and
	// /metrics leaves the public listener.
	Listen string `yaml:"listen"`
}

// Duration is a time.Duration written in YAML as "15m", "90s", "720h" or
// with days, "90d" or "1d12h". Keys that can be switched off also accept
// "off" (Off); everywhere else Validate refuses it. A zero (or missing)
// value means "the default", never "off".
type Duration time.Duration

// Off is the value of a duration written "off".
const Off Duration = -1

// IsOff reports whether the duration was written "off".
func (d Duration) IsOff() bool { return d == Off }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

const day = 24 * time.Hour

// String formats the duration the way UnmarshalText reads it: "off",
// whole days as "90d", others like time.Duration ("15m0s", "1d12h0m0s").
func (d Duration) String() string {
	if d == Off {
		return "off"
	}
	v := time.Duration(d)
	if v >= day && v%day == 0 {
		return strconv.FormatInt(int64(v/day), 10) + "d"
	}
	if v > day {
		return strconv.FormatInt(int64(v/day), 10) + "d" + (v % day).String()
	}
	return v.String()
}

// MarshalText writes the duration in the form UnmarshalText reads.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "off", or a duration with a unit: Go's units
// ("15m", "90s", "720h") after an optional number of days ("90d",
// "1d12h"). A bare number is refused: the unit must be written.
func (d *Duration) UnmarshalText(text []byte) error {
	s := string(text)
	if s == "off" {
		*d = Off
		return nil
	}
	bad := fmt.Errorf("invalid duration %q: want a number with a unit, like \"90s\", \"15m\", \"720h\" or \"90d\"", text)
	var days time.Duration
	if n, rest, ok := strings.Cut(s, "d"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return bad
		}
		days, s = time.Duration(v)*day, rest
		if s == "" {
			*d = Duration(days)
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || (days > 0 && v < 0) {
		return bad
	}
	*d = Duration(days + v)
	return nil
}

// UnmarshalYAML decodes the duration from YAML (goccy/go-yaml prefers this
// method to UnmarshalText), naming the key and line in its error.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	s := n.String()
	if str, ok := n.(*ast.StringNode); ok {
		s = str.Value
	}
	if err := d.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("%s (line %d): %w", keyPath(n), n.GetToken().Position.Line, err)
	}
	return nil
}
