package config

import (
	"encoding/hex"
	"fmt"
	"net"
	netmail "net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/secret"
)

// Allowed values of enumerated keys.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"

	SecurityNone     = "none"
	SecurityStartTLS = "starttls"
	SecurityTLS      = "tls"

	AlgRS256 = "RS256"
	AlgES256 = "ES256"

	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"

	TokenFormatJWT    = "jwt"
	TokenFormatOpaque = "opaque"
)

// Limits enforced by Validate.
const (
	// MinClientSecretLen is the shortest client secret accepted outside dev.
	MinClientSecretLen = 32
	// MinPasswordMemoryKiB is the least argon2id memory accepted.
	MinPasswordMemoryKiB = 8192
	// MinDormantAfter is the shortest lifecycle.dormant_after accepted:
	// a shorter one would lock people out between two working days.
	MinDormantAfter = 24 * time.Hour
)

// Problem is one invalid setting.
type Problem struct {
	Key     string // key path such as "clients[1].redirect_uris[0]", or an environment variable
	Message string
}

// String formats the problem as "key: message".
func (p Problem) String() string { return p.Key + ": " + p.Message }

// ValidationError lists every problem Validate found.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one per line, sorted by key.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d invalid setting(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Validate checks the configuration, after ApplyEnv and ApplyDefaults, and
// returns a *ValidationError listing every problem, or nil.
func (c *Config) Validate() error {
	v := &validator{dev: c.Dev}

	v.issuer(c.Issuer)
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		v.add("listen", "must be host:port or :port")
	}
	v.oneOf("database.driver", c.Database.Driver, DriverSQLite, DriverPostgres)
	if c.Database.DSN == "" {
		v.add("database.dsn", "required")
	}
	if c.Database.MaxOpenConns < 0 {
		v.add("database.max_open_conns", "must not be negative")
	}
	if c.SMTP.Port < 1 || c.SMTP.Port > 65535 {
		v.add("smtp.port", "must be between 1 and 65535")
	}
	v.oneOf("smtp.security", c.SMTP.Security, SecurityNone, SecurityStartTLS, SecurityTLS)
	if a, err := netmail.ParseAddress(c.SMTP.From); err != nil || strings.ContainsAny(c.SMTP.From, "\r\n") {
		v.add("smtp.from", "must be an address such as \"Example Login <login@example.com>\"")
	} else if !strings.Contains(a.Address, "@") {
		v.add("smtp.from", "must contain an @")
	}
	if c.SMTP.MaxAttempts < 1 {
		v.add("smtp.max_attempts", "must be at least 1")
	}
	v.oneOf("keys.algorithm", c.Keys.Algorithm, AlgRS256, AlgES256)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "json", "text")
	v.oneOf("ui.default_language", c.UI.DefaultLanguage, "ja", "en")
	v.secret(c.Secret)

	for key, d := range map[string]Duration{
		"smtp.timeout":                     c.SMTP.Timeout,
		"smtp.poll_interval":               c.SMTP.PollInterval,
		"smtp.retry_delay":                 c.SMTP.RetryDelay,
		"lifetimes.auth_request":           c.Lifetimes.AuthRequest,
		"lifetimes.code":                   c.Lifetimes.Code,
		"lifetimes.access_token":           c.Lifetimes.AccessToken,
		"lifetimes.id_token":               c.Lifetimes.IDToken,
		"lifetimes.refresh_token_idle":     c.Lifetimes.RefreshTokenIdle,
		"lifetimes.refresh_token_absolute": c.Lifetimes.RefreshTokenAbsolute,
		"session.idle":                     c.Session.Idle,
		"session.absolute":                 c.Session.Absolute,
		"keys.refresh_interval":            c.Keys.RefreshInterval,
		"throttle.base_delay":              c.Throttle.BaseDelay,
		"throttle.max_delay":               c.Throttle.MaxDelay,
		"throttle.window":                  c.Throttle.Window,
		"sweep_interval":                   c.SweepInterval,
		"logout.wait":                      c.Logout.Wait,
		"reset.code_lifetime":              c.Reset.CodeLifetime,
		"reset.response_floor":             c.Reset.ResponseFloor,
		"otp.code_lifetime":                c.OTP.CodeLifetime,
		"otp.resend_cooldown":              c.OTP.ResendCooldown,
		"otp.remember_device":              c.OTP.RememberDevice,
		"mfa.max_age":                      c.MFA.MaxAge,
		"email.verify_lifetime":            c.Email.VerifyLifetime,
		"legacy.check_floor":               c.Legacy.CheckFloor,
		"logout.delivery_timeout":          c.Logout.DeliveryTimeout,
		"logout.retry_delay":               c.Logout.RetryDelay,
		"logout.poll_interval":             c.Logout.PollInterval,
		"logout.expiry_sweep_interval":     c.Logout.ExpirySweepInterval,
		"logout.token_lifetime":            c.Logout.TokenLifetime,
		"shutdown_grace":                   c.ShutdownGrace,
	} {
		if d <= 0 {
			v.add(key, "must be a positive duration")
		}
	}
	if c.Limits.MemoryMiB < 0 {
		v.add("limits.memory_mib", "must not be negative (0: the default)")
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			v.add("metrics.listen", "must be host:port, such as 127.0.0.1:9090")
		} else if c.Metrics.Listen == c.Listen {
			v.add("metrics.listen", "must differ from listen")
		}
	}
	v.oneOf("login.identifier", c.Login.Identifier, IdentifierEmail, IdentifierOrgUsername, IdentifierOrgEmail)
	v.roles(c.Roles)
	if _, err := time.LoadLocation(c.Organizations.DefaultTimeZone); err != nil || c.Organizations.DefaultTimeZone == "" {
		v.add("organizations.default_time_zone", "must be an IANA time zone such as Asia/Tokyo")
	}
	if c.Organizations.MaxMembers < 0 {
		v.add("organizations.max_members", "must not be negative (0: no limit)")
	}
	if d := c.Lifecycle.DormantAfter; !d.IsOff() && d < Duration(MinDormantAfter) {
		v.add("lifecycle.dormant_after", "must be \"off\" or a duration of at least %s", Duration(MinDormantAfter))
	}
	for key, d := range map[string]Duration{"invitation.lifetime": c.Invitation.Lifetime, "admin.max_age": c.Admin.MaxAge,
		"lifecycle.unlock_link_lifetime": c.Lifecycle.UnlockLinkLifetime} {
		if d <= 0 {
			v.add(key, "must be a positive duration")
		}
	}
	if w := c.Refresh.ReuseWindow; !w.IsOff() && (w <= 0 || w.D() > MaxRefreshReuseWindow) {
		v.add("refresh.reuse_window", "must be \"off\" or a duration of at most %s", Duration(MaxRefreshReuseWindow))
	}
	if c.Throttle.FreeFailures < 0 {
		v.add("throttle.free_failures", "must not be negative")
	}
	if c.Throttle.MaxDelay < c.Throttle.BaseDelay {
		v.add("throttle.max_delay", "must not be less than throttle.base_delay")
	}
	for key, n := range map[string]int{"reset.max_failures": c.Reset.MaxFailures,
		"reset.per_email_per_hour": c.Reset.PerEmailPerHour, "reset.per_ip_per_hour": c.Reset.PerIPPerHour,
		"otp.max_failures": c.OTP.MaxFailures, "otp.max_sends_per_hour": c.OTP.MaxSendsPerHour,
		"otp.max_failures_per_hour": c.OTP.MaxFailuresPerHour} {
		if n < 1 {
			v.add(key, "must be at least 1")
		}
	}
	v.oneOf("password_policy.preset", c.PasswordPolicy.Preset, "default", "nist")
	v.oneOf("otp.policy", c.OTP.Policy, OTPOff, OTPOptional, OTPNewDevice, OTPAlways)
	v.oneOf("mfa.policy", c.MFA.Policy, MFAOff, MFAOptional, MFARequired)
	v.oneOf("notify.login", c.Notify.Login, "off", "new_device", "always")
	v.branding(c.Branding)
	v.text("legacy.name", c.Legacy.Name)
	if _, _, err := c.Legacy.WindowEnd(); err != nil {
		v.add("legacy.window_ends_at", "must be an RFC 3339 time with its offset, like 2027-03-31T23:59:59+09:00")
	}
	if c.PasswordPolicy.MinLength < 0 {
		v.add("password_policy.min_length", "must not be negative")
	}
	if m := c.PasswordPolicy.MaxLength; m != 0 && (m < 64 || m > 128) {
		v.add("password_policy.max_length", "must be between 64 and 128")
	}
	if c.Logout.MaxAttempts < 1 {
		v.add("logout.max_attempts", "must be at least 1")
	}
	if c.Logout.Parallel < 1 || c.Logout.Parallel > 256 {
		v.add("logout.parallel", "must be between 1 and 256")
	}
	if c.Limits.MaxBodyBytes <= 0 {
		v.add("limits.max_body_bytes", "must be positive")
	}

	if c.Password.MemoryKiB < MinPasswordMemoryKiB {
		v.add("password.memory_kib", "must be at least %d", MinPasswordMemoryKiB)
	}
	if c.Password.Iterations < 1 {
		v.add("password.iterations", "must be at least 1")
	}
	if c.Password.Parallelism < 1 {
		v.add("password.parallelism", "must be at least 1")
	}
	if c.Password.MaxConcurrent < 0 {
		v.add("password.max_concurrent", "must not be negative (0 means GOMAXPROCS)")
	}

	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(p); err != nil {
			v.add(fmt.Sprintf("trusted_proxies[%d]", i), "must be an IP address or CIDR prefix")
		}
	}

	seen := make(map[string]int)
	for i, cl := range c.Clients {
		key := fmt.Sprintf("clients[%d]", i)
		if cl.ID != "" {
			if j, dup := seen[cl.ID]; dup {
				v.add(key+".id", "duplicates clients[%d].id %q", j, cl.ID)
			} else {
				seen[cl.ID] = i
			}
		}
		v.client(key, cl)
	}
	for i, cl := range c.Clients {
		for j, id := range cl.IntrospectFor {
			if _, ok := seen[id]; !ok {
				v.add(fmt.Sprintf("clients[%d].introspect_for[%d]", i, j), "names no configured client (%q)", id)
			} else if cl.Public() {
				v.add(fmt.Sprintf("clients[%d].introspect_for", i), "needs a confidential client (one with a secret)")
			}
		}
	}

	if len(v.problems) == 0 {
		return nil
	}
	slices.SortStableFunc(v.problems, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return &ValidationError{Problems: v.problems}
}

// roleName is what a role may be called (it travels in tokens).
var roleName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// roles checks the declared roles: named, each once, labelled.
func (v *validator) roles(roles []Role) {
	seen := map[string]int{}
	for i, r := range roles {
		key := fmt.Sprintf("roles[%d]", i)
		switch j, dup := seen[r.Name]; {
		case !roleName.MatchString(r.Name):
			v.add(key+".name", "must be 1-32 lower-case letters, digits, '-' or '_', starting with a letter")
		case dup:
			v.add(key+".name", "duplicates roles[%d].name %q", j, r.Name)
		default:
			seen[r.Name] = i
		}
		for lang, l := range map[string]string{"ja": r.Labels.JA, "en": r.Labels.EN} {
			if strings.ContainsFunc(l, unicode.IsControl) || utf8.RuneCountInString(l) > 64 {
				v.add(key+".labels."+lang, "must be at most 64 characters, without control characters")
			}
		}
	}
	if len(roles) > 0 && !roles[0].ManageMembers {
		v.add("roles[0].manage_members", "the highest role must manage members, or nobody could")
	}
}

// validator collects problems.
type validator struct {
	dev      bool
	problems []Problem
}

func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.add(key, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
}

func (v *validator) issuer(s string) {
	const key = "issuer"
	if s == "" {
		v.add(key, "required")
		return
	}
	if strings.ContainsAny(s, "?#") {
		v.add(key, "must not have a query or fragment")
		return
	}
	v.httpURL(key, s)
}

func (v *validator) secret(s string) {
	if s == "" {
		if !v.dev {
			v.add(EnvSecret, "required: at least 32 random bytes, base64-encoded; make one with "+
				"export SEKISHO_SECRET=\"$(head -c 32 /dev/urandom | base64)\" "+
				"and keep it: every replica needs the same value, and the signing keys are encrypted with it")
		}
		return
	}
	keys, err := secret.Parse(s)
	if err != nil {
		v.add(EnvSecret, "%v", err)
		return
	}
	if !v.dev && isDevSecret(keys) {
		v.add(EnvSecret, "is the development secret published with --dev (anyone can read what it protects); "+
			"set a random one: head -c 32 /dev/urandom | base64")
	}
}

// isDevSecret reports whether keys derive from DevSecret, however it is
// written (padding, alphabet).
func isDevSecret(keys *secret.Keys) bool {
	dev, err := secret.Parse(DevSecret)
	return err == nil && dev.OPCryptoKey() == keys.OPCryptoKey()
}

func (v *validator) client(key string, cl Client) {
	switch {
	case cl.ID == "":
		v.add(key+".id", "required")
	case strings.Contains(cl.ID, ":"):
		v.add(key+".id", "must not contain ':'")
	}
	v.text(key+".name", cl.Name)
	if cl.OTP != "" {
		v.oneOf(key+".otp", cl.OTP, OTPAlways)
	}
	if cl.MFA != "" {
		v.oneOf(key+".mfa", cl.MFA, MFARequired)
	}
	for j, code := range cl.Organizations {
		if _, err := identifier.Username(code); err != nil {
			v.add(fmt.Sprintf("%s.organizations[%d]", key, j), "must be an organization code (no spaces or control characters)")
		}
	}

	switch {
	case cl.Secret != "" && cl.SecretSHA256 != "":
		v.add(key+".secret", "give either secret or secret_sha256, not both")
	case cl.SecretSHA256 != "":
		if b, err := hex.DecodeString(cl.SecretSHA256); err != nil || len(b) != 32 {
			v.add(key+".secret_sha256", "must be 64 hexadecimal characters (a SHA-256 digest)")
		}
	case cl.Secret != "" && len(cl.Secret) < MinClientSecretLen && !v.dev:
		v.add(key+".secret", "must be at least %d characters", MinClientSecretLen)
	}

	for j, g := range cl.GrantTypes {
		v.oneOf(fmt.Sprintf("%s.grant_types[%d]", key, j), g,
			GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials)
	}
	if cl.HasGrant(GrantRefreshToken) && !cl.HasGrant(GrantAuthorizationCode) {
		v.add(key+".grant_types", "refresh_token needs authorization_code")
	}
	if cl.HasGrant(GrantClientCredentials) && cl.Public() {
		v.add(key+".grant_types", "client_credentials needs a confidential client (secret or secret_sha256)")
	}
	if cl.HasGrant(GrantAuthorizationCode) && len(cl.RedirectURIs) == 0 {
		v.add(key+".redirect_uris", "authorization_code needs at least one redirect URI")
	}

	for j, u := range cl.RedirectURIs {
		v.redirectURI(fmt.Sprintf("%s.redirect_uris[%d]", key, j), u, cl.Public())
	}
	for j, u := range cl.PostLogoutRedirectURIs {
		v.redirectURI(fmt.Sprintf("%s.post_logout_redirect_uris[%d]", key, j), u, cl.Public())
	}
	if cl.InitiateLoginURI != "" {
		v.logoutURI(key+".initiate_login_uri", cl.InitiateLoginURI)
	}
	if cl.BackchannelLogoutURI != "" {
		v.logoutURI(key+".backchannel_logout_uri", cl.BackchannelLogoutURI)
	}
	if cl.FrontchannelLogoutURI != "" {
		v.logoutURI(key+".frontchannel_logout_uri", cl.FrontchannelLogoutURI)
		// Front-Channel Logout 1.0, section 2: same scheme, host and port
		// as a registered redirect URI.
		// (Checked only against redirect URIs that are valid themselves.)
		badRedirects := slices.ContainsFunc(v.problems, func(p Problem) bool {
			return strings.HasPrefix(p.Key, key+".redirect_uris") || p.Key == key+".frontchannel_logout_uri"
		})
		if o := originOf(cl.FrontchannelLogoutURI); !badRedirects && (o == "" || !slices.ContainsFunc(cl.RedirectURIs, func(r string) bool { return originOf(r) == o })) {
			v.add(key+".frontchannel_logout_uri", "must have the scheme, host and port of one of the client's redirect_uris")
		}
	}

	v.oneOf(key+".access_token_format", cl.AccessTokenFormat, TokenFormatJWT, TokenFormatOpaque)
	if cl.RequirePKCE != nil && !*cl.RequirePKCE && cl.Public() {
		v.add(key+".require_pkce", "may be false only for confidential clients")
	}
	for j, o := range cl.AllowedOrigins {
		if !isOrigin(o) {
			v.add(fmt.Sprintf("%s.allowed_origins[%d]", key, j), "must be scheme://host[:port] with no path")
		}
	}
	for j, s := range cl.Scopes {
		if !isScopeToken(s) {
			v.add(fmt.Sprintf("%s.scopes[%d]", key, j), "must be a non-empty scope name without spaces or quotes")
		}
	}
	for name, d := range map[string]Duration{
		"access_token":           cl.Lifetimes.AccessToken,
		"id_token":               cl.Lifetimes.IDToken,
		"refresh_token_idle":     cl.Lifetimes.RefreshTokenIdle,
		"refresh_token_absolute": cl.Lifetimes.RefreshTokenAbsolute,
	} {
		if d < 0 {
			v.add(key+".lifetimes."+name, "must not be negative (0 means the global value)")
		}
	}
}

// redirectURI checks a redirect_uri or post_logout_redirect_uri: absolute,
// no fragment, https unless loopback or dev; public (native) clients may
// also use a private-use scheme such as com.example.app:/cb (RFC 8252).
// URIs are matched exactly, so no wildcard; and no '%' or '+', because
// zitadel/oidc unescapes the request's URI before comparing it, so an
// escaped registered URI would match more than its own string.
func (v *validator) redirectURI(key, s string, public bool) {
	switch {
	case strings.Contains(s, "*"):
		v.add(key, "must not contain a wildcard (*): redirect URIs are matched exactly")
		return
	case strings.ContainsAny(s, "%+"):
		v.add(key, "must not contain '%%' or '+': the request's URI is compared after unescaping, so such a URI would match other strings too")
		return
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		v.add(key, "must be an absolute URL")
		return
	}
	if strings.Contains(s, "#") {
		v.add(key, "must not have a fragment")
		return
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		v.httpURL(key, s)
		return
	}
	if !strings.Contains(u.Scheme, ".") {
		v.add(key, "must use https (or a private-use scheme like com.example.app: for a public native client)")
	} else if !public {
		v.add(key, "a private-use scheme is allowed only for public clients")
	}
}

// logoutURI checks a back- or front-channel logout URI (or another URI of
// the client that is not a redirect URI: initiate_login_uri): absolute
// http(s), no fragment, https unless loopback or dev.
func (v *validator) logoutURI(key, s string) {
	if strings.Contains(s, "#") {
		v.add(key, "must not have a fragment")
		return
	}
	v.httpURL(key, s)
}

// httpURL checks that s is an absolute http(s) URL with a host, using https
// unless the host is loopback or this is dev.
func (v *validator) httpURL(key, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(key, "must be an absolute http(s) URL")
		return
	}
	if u.Scheme == "http" && !v.dev && !isLoopback(u.Hostname()) {
		v.add(key, "must use https (http only for localhost, 127.0.0.1, [::1] or --dev)")
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// originOf returns scheme://host[:port] of an absolute URL, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// isOrigin reports whether s is a web origin: http(s)://host[:port].
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && !strings.ContainsAny(s, "?#")
}

// isScopeToken reports whether s is an RFC 6749 scope-token: one or more of
// %x21 / %x23-5B / %x5D-7E (printable ASCII except space, '"' and '\').
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
