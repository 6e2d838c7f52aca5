package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testSecret is a valid SEKISHO_SECRET (32 bytes).
const testSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// validConfig returns a configuration that passes Validate, using most
// features, for the cases below to break one rule at a time.
func validConfig() *Config {
	c := &Config{
		Issuer:         "https://login.example.com",
		Secret:         testSecret,
		TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"},
		Clients: []Client{
			{
				ID:                     "web",
				Secret:                 strings.Repeat("s", 32),
				RedirectURIs:           []string{"https://app.example.com/cb?x=1"},
				PostLogoutRedirectURIs: []string{"https://app.example.com/"},
				BackchannelLogoutURI:   "https://app.example.com/bc",
				FrontchannelLogoutURI:  "https://app.example.com/fc",
				GrantTypes:             []string{GrantAuthorizationCode, GrantRefreshToken},
				AllowedOrigins:         []string{"https://app.example.com", "http://localhost:3000"},
			},
			{
				ID:           "native",
				RedirectURIs: []string{"com.example.app:/cb", "http://127.0.0.1:4000/cb", "http://[::1]/cb", "http://localhost/cb"},
			},
			{
				ID:           "batch",
				SecretSHA256: strings.Repeat("ab", 32),
				GrantTypes:   []string{GrantClientCredentials},
				Scopes:       []string{"api", "reports:read"},
			},
		},
	}
	c.ApplyDefaults()
	return c
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(c *Config)
		wantKey string // "" when the mutation is allowed
	}{
		{"valid", func(c *Config) {}, ""},

		// issuer
		{"issuer missing", func(c *Config) { c.Issuer = "" }, "issuer"},
		{"issuer relative", func(c *Config) { c.Issuer = "/login" }, "issuer"},
		{"issuer not http", func(c *Config) { c.Issuer = "ftp://login.example.com" }, "issuer"},
		{"issuer query", func(c *Config) { c.Issuer = "https://login.example.com/?tenant=1" }, "issuer"},
		{"issuer fragment", func(c *Config) { c.Issuer = "https://login.example.com/#x" }, "issuer"},
		{"issuer http", func(c *Config) { c.Issuer = "http://login.example.com" }, "issuer"},
		{"issuer http localhost", func(c *Config) { c.Issuer = "http://localhost:8080" }, ""},
		{"issuer http 127.0.0.1", func(c *Config) { c.Issuer = "http://127.0.0.1:8080" }, ""},
		{"issuer http ::1", func(c *Config) { c.Issuer = "http://[::1]:8080" }, ""},
		{"issuer http dev", func(c *Config) { c.Issuer = "http://sso.test"; c.Dev = true }, ""},
		{"issuer with path", func(c *Config) { c.Issuer = "https://example.com/sso" }, ""},

		// top-level settings
		{"listen", func(c *Config) { c.Listen = "8080" }, "listen"},
		{"database driver", func(c *Config) { c.Database.Driver = "mysql" }, "database.driver"},
		{"database postgres", func(c *Config) { c.Database.Driver = DriverPostgres }, ""},
		{"database dsn", func(c *Config) { c.Database.DSN = "" }, "database.dsn"},
		{"database max_open_conns", func(c *Config) { c.Database.MaxOpenConns = -1 }, "database.max_open_conns"},
		{"smtp port", func(c *Config) { c.SMTP.Port = 70000 }, "smtp.port"},
		{"smtp security", func(c *Config) { c.SMTP.Security = "ssl" }, "smtp.security"},
		{"smtp security tls", func(c *Config) { c.SMTP.Security = SecurityTLS }, ""},
		{"smtp security none", func(c *Config) { c.SMTP.Security = SecurityNone }, ""},
		{"keys algorithm", func(c *Config) { c.Keys.Algorithm = "HS256" }, "keys.algorithm"},
		{"keys ES256", func(c *Config) { c.Keys.Algorithm = AlgES256 }, ""},
		{"refresh reuse_window off", func(c *Config) { c.Refresh.ReuseWindow = Off }, ""},
		{"login identifier", func(c *Config) { c.Login.Identifier = "username" }, "login.identifier"},
		{"memory limit", func(c *Config) { c.Limits.MemoryMiB = -1 }, "limits.memory_mib"},
		{"metrics listen", func(c *Config) { c.Metrics.Listen = "9090" }, "metrics.listen"},
		{"metrics listen is the public one", func(c *Config) { c.Metrics.Listen = c.Listen }, "metrics.listen"},
		{"metrics listen", func(c *Config) { c.Metrics.Listen = "127.0.0.1:9090" }, ""},
		{"login identifier organization+email", func(c *Config) { c.Login.Identifier = IdentifierOrgEmail }, ""},
		{"roles", func(c *Config) {
			c.Roles = []Role{{Name: "owner", ManageMembers: true, Labels: Labels{JA: "管理者", EN: "Owner"}}, {Name: "staff"}}
		}, ""},
		{"role name", func(c *Config) { c.Roles = []Role{{Name: "Owner!", ManageMembers: true}} }, "roles[0].name"},
		{"duplicate role", func(c *Config) {
			c.Roles = []Role{{Name: "owner", ManageMembers: true}, {Name: "owner"}}
		}, "roles[1].name"},
		{"highest role cannot manage", func(c *Config) { c.Roles = []Role{{Name: "owner"}} }, "roles[0].manage_members"},
		{"role label with a newline", func(c *Config) {
			c.Roles = []Role{{Name: "owner", ManageMembers: true, Labels: Labels{JA: "a\nb", EN: "x"}}}
		}, "roles[0].labels.ja"},
		{"time zone", func(c *Config) { c.Organizations.DefaultTimeZone = "Mars/Olympus" }, "organizations.default_time_zone"},
		{"max members", func(c *Config) { c.Organizations.MaxMembers = -1 }, "organizations.max_members"},
		{"invitation lifetime off", func(c *Config) { c.Invitation.Lifetime = Off }, "invitation.lifetime"},
		{"admin max_age", func(c *Config) { c.Admin.MaxAge = -5 }, "admin.max_age"},
		{"dormant_after under a day", func(c *Config) { c.Lifecycle.DormantAfter = Duration(12 * time.Hour) }, "lifecycle.dormant_after"},
		{"unlock link lifetime off", func(c *Config) { c.Lifecycle.UnlockLinkLifetime = Off }, "lifecycle.unlock_link_lifetime"},
		{"client organizations", func(c *Config) { c.Clients[0].Organizations = []string{"bad code"} }, "clients[0].organizations[0]"},
		{"refresh reuse_window too long", func(c *Config) { c.Refresh.ReuseWindow = Duration(2 * time.Minute) }, "refresh.reuse_window"},
		{"a duration that cannot be off", func(c *Config) { c.Session.Idle = Off }, "session.idle"},
		{"introspect_for unknown client", func(c *Config) { c.Clients[0].IntrospectFor = []string{"nobody"} }, "clients[0].introspect_for[0]"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"ui default language", func(c *Config) { c.UI.DefaultLanguage = "fr" }, "ui.default_language"},
		{"ui default language en", func(c *Config) { c.UI.DefaultLanguage = "en" }, ""},

		// SEKISHO_SECRET
		{"secret missing", func(c *Config) { c.Secret = "" }, EnvSecret},
		{"secret missing dev", func(c *Config) { c.Secret = ""; c.Dev = true }, ""},
		{"secret not base64", func(c *Config) { c.Secret = "not base64!" }, EnvSecret},
		{"secret short", func(c *Config) { c.Secret = "c2hvcnQ=" }, EnvSecret},
		{"secret raw url", func(c *Config) { c.Secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" }, ""},
		{"dev secret", func(c *Config) { c.Secret = DevSecret }, EnvSecret},
		{"dev secret unpadded", func(c *Config) { c.Secret = strings.TrimRight(DevSecret, "=") }, EnvSecret},
		{"dev secret with spaces", func(c *Config) { c.Secret = " " + DevSecret + "\n" }, EnvSecret},
		{"dev secret in dev", func(c *Config) { c.Secret, c.Dev = DevSecret, true }, ""},

		// durations and numbers
		{"smtp timeout", func(c *Config) { c.SMTP.Timeout = 0 }, "smtp.timeout"},
		{"auth_request lifetime", func(c *Config) { c.Lifetimes.AuthRequest = -1 }, "lifetimes.auth_request"},
		{"code lifetime", func(c *Config) { c.Lifetimes.Code = 0 }, "lifetimes.code"},
		{"access token lifetime", func(c *Config) { c.Lifetimes.AccessToken = 0 }, "lifetimes.access_token"},
		{"id token lifetime", func(c *Config) { c.Lifetimes.IDToken = 0 }, "lifetimes.id_token"},
		{"refresh idle lifetime", func(c *Config) { c.Lifetimes.RefreshTokenIdle = 0 }, "lifetimes.refresh_token_idle"},
		{"refresh absolute lifetime", func(c *Config) { c.Lifetimes.RefreshTokenAbsolute = 0 }, "lifetimes.refresh_token_absolute"},
		{"session idle", func(c *Config) { c.Session.Idle = 0 }, "session.idle"},
		{"session absolute", func(c *Config) { c.Session.Absolute = 0 }, "session.absolute"},
		{"keys refresh interval", func(c *Config) { c.Keys.RefreshInterval = 0 }, "keys.refresh_interval"},
		{"throttle base delay", func(c *Config) { c.Throttle.BaseDelay = 0 }, "throttle.base_delay"},
		{"throttle max delay", func(c *Config) { c.Throttle.MaxDelay = c.Throttle.BaseDelay - 1 }, "throttle.max_delay"},
		{"logout wait", func(c *Config) { c.Logout.Wait = 0 }, "logout.wait"},
		{"logout max attempts", func(c *Config) { c.Logout.MaxAttempts = -1 }, "logout.max_attempts"},
		{"logout parallel", func(c *Config) { c.Logout.Parallel = 1000 }, "logout.parallel"},
		{"throttle window", func(c *Config) { c.Throttle.Window = 0 }, "throttle.window"},
		{"throttle free failures", func(c *Config) { c.Throttle.FreeFailures = -1 }, "throttle.free_failures"},
		{"otp max failures per hour", func(c *Config) { c.OTP.MaxFailuresPerHour = -1 }, "otp.max_failures_per_hour"},
		{"mfa policy", func(c *Config) { c.MFA.Policy = "always" }, "mfa.policy"},
		{"mfa max age", func(c *Config) { c.MFA.MaxAge = Duration(-time.Minute) }, "mfa.max_age"},
		{"client mfa", func(c *Config) { c.Clients[0].MFA = "optional" }, "clients[0].mfa"},
		{"sweep interval", func(c *Config) { c.SweepInterval = 0 }, "sweep_interval"},
		{"shutdown grace", func(c *Config) { c.ShutdownGrace = 0 }, "shutdown_grace"},
		{"max body bytes", func(c *Config) { c.Limits.MaxBodyBytes = 0 }, "limits.max_body_bytes"},
		{"password memory", func(c *Config) { c.Password.MemoryKiB = 8191 }, "password.memory_kib"},
		{"password iterations", func(c *Config) { c.Password.Iterations = 0 }, "password.iterations"},
		{"password parallelism", func(c *Config) { c.Password.Parallelism = 0 }, "password.parallelism"},
		{"password max concurrent", func(c *Config) { c.Password.MaxConcurrent = -1 }, "password.max_concurrent"},
		{"trusted proxy", func(c *Config) { c.TrustedProxies[1] = "proxy.internal" }, "trusted_proxies[1]"},
		{"trusted proxy bad prefix", func(c *Config) { c.TrustedProxies[0] = "10.0.0.0/33" }, "trusted_proxies[0]"},

		// client identity and secrets
		{"client id empty", func(c *Config) { c.Clients[1].ID = "" }, "clients[1].id"},
		{"client id colon", func(c *Config) { c.Clients[1].ID = "a:b" }, "clients[1].id"},
		{"client id duplicate", func(c *Config) { c.Clients[2].ID = "web" }, "clients[2].id"},
		{"secret and digest", func(c *Config) { c.Clients[0].SecretSHA256 = strings.Repeat("0", 64) }, "clients[0].secret"},
		{"digest not hex", func(c *Config) { c.Clients[2].SecretSHA256 = strings.Repeat("z", 64) }, "clients[2].secret_sha256"},
		{"digest wrong length", func(c *Config) { c.Clients[2].SecretSHA256 = "abcd" }, "clients[2].secret_sha256"},
		{"client secret short", func(c *Config) { c.Clients[0].Secret = "short" }, "clients[0].secret"},
		{"client secret short dev", func(c *Config) { c.Clients[0].Secret = "short"; c.Dev = true }, ""},

		// grant types
		{"grant type unknown", func(c *Config) { c.Clients[0].GrantTypes[1] = "password" }, "clients[0].grant_types[1]"},
		{"refresh without code", func(c *Config) { c.Clients[0].GrantTypes = []string{GrantRefreshToken} }, "clients[0].grant_types"},
		{"client credentials public", func(c *Config) { c.Clients[1].GrantTypes = []string{GrantClientCredentials} }, "clients[1].grant_types"},
		{"code without redirect", func(c *Config) { c.Clients[0].RedirectURIs = nil }, "clients[0].redirect_uris"},

		// redirect URIs
		{"redirect relative", func(c *Config) { c.Clients[0].RedirectURIs[0] = "/cb" }, "clients[0].redirect_uris[0]"},
		{"redirect fragment", func(c *Config) { c.Clients[0].RedirectURIs[0] = "https://app.example.com/cb#x" }, "clients[0].redirect_uris[0]"},
		{"redirect http", func(c *Config) { c.Clients[0].RedirectURIs[0] = "http://app.example.com/cb" }, "clients[0].redirect_uris[0]"},
		{"redirect http dev", func(c *Config) {
			c.Clients[0].RedirectURIs[0], c.Clients[0].FrontchannelLogoutURI, c.Dev = "http://app.test/cb", "http://app.test/fc", true
		}, ""},
		{"frontchannel on another host", func(c *Config) { c.Clients[0].FrontchannelLogoutURI = "https://other.example.com/fc" }, "clients[0].frontchannel_logout_uri"},
		{"redirect no host", func(c *Config) { c.Clients[0].RedirectURIs[0] = "https:///cb" }, "clients[0].redirect_uris[0]"},
		{"redirect javascript", func(c *Config) { c.Clients[1].RedirectURIs[0] = "javascript:alert(1)" }, "clients[1].redirect_uris[0]"},
		{"redirect private scheme confidential", func(c *Config) { c.Clients[0].RedirectURIs[0] = "com.example.app:/cb" }, "clients[0].redirect_uris[0]"},
		{"post logout http", func(c *Config) { c.Clients[0].PostLogoutRedirectURIs[0] = "http://app.example.com/" }, "clients[0].post_logout_redirect_uris[0]"},
		{"post logout fragment", func(c *Config) { c.Clients[0].PostLogoutRedirectURIs[0] = "https://app.example.com/#bye" }, "clients[0].post_logout_redirect_uris[0]"},
		{"post logout private scheme public", func(c *Config) { c.Clients[1].PostLogoutRedirectURIs = []string{"com.example.app:/bye"} }, ""},
		{"redirect wildcard host", func(c *Config) { c.Clients[0].RedirectURIs[0] = "https://*.example.com/cb" }, "clients[0].redirect_uris[0]"},
		{"redirect wildcard path", func(c *Config) { c.Clients[2].RedirectURIs = []string{"https://app.example.com/*"} }, "clients[2].redirect_uris[0]"},
		{"redirect wildcard native", func(c *Config) { c.Clients[1].RedirectURIs[1] = "http://127.0.0.1:*/cb" }, "clients[1].redirect_uris[1]"},
		{"redirect wildcard dev", func(c *Config) { c.Clients[1].RedirectURIs[0], c.Dev = "com.example.*:/cb", true }, "clients[1].redirect_uris[0]"},
		{"post logout wildcard", func(c *Config) { c.Clients[0].PostLogoutRedirectURIs[0] = "https://app.example.com/*" }, "clients[0].post_logout_redirect_uris[0]"},
		{"redirect percent", func(c *Config) { c.Clients[0].RedirectURIs[0] = "https://app.example.com/%63b" }, "clients[0].redirect_uris[0]"},
		{"redirect percent in query", func(c *Config) { c.Clients[0].RedirectURIs[0] = "https://app.example.com/cb?next=%2F" }, "clients[0].redirect_uris[0]"},
		{"redirect plus", func(c *Config) { c.Clients[0].RedirectURIs[0] = "https://app.example.com/cb?a=b+c" }, "clients[0].redirect_uris[0]"},
		{"post logout percent", func(c *Config) { c.Clients[1].PostLogoutRedirectURIs = []string{"http://127.0.0.1/bye%20now"} }, "clients[1].post_logout_redirect_uris[0]"},
		{"post logout plus", func(c *Config) { c.Clients[0].PostLogoutRedirectURIs[0] = "https://app.example.com/+" }, "clients[0].post_logout_redirect_uris[0]"},

		// logout URIs
		{"backchannel http", func(c *Config) { c.Clients[0].BackchannelLogoutURI = "http://app.example.com/bc" }, "clients[0].backchannel_logout_uri"},
		{"backchannel loopback", func(c *Config) { c.Clients[0].BackchannelLogoutURI = "http://127.0.0.1:9000/bc" }, ""},
		{"backchannel fragment", func(c *Config) { c.Clients[0].BackchannelLogoutURI = "https://app.example.com/bc#x" }, "clients[0].backchannel_logout_uri"},
		{"backchannel private scheme", func(c *Config) { c.Clients[0].BackchannelLogoutURI = "com.example.app:/bc" }, "clients[0].backchannel_logout_uri"},
		{"frontchannel relative", func(c *Config) { c.Clients[0].FrontchannelLogoutURI = "/fc" }, "clients[0].frontchannel_logout_uri"},
		{"initiate login", func(c *Config) { c.Clients[0].InitiateLoginURI = "https://app.example.com/login?x=1" }, ""},
		{"initiate login http", func(c *Config) { c.Clients[0].InitiateLoginURI = "http://app.example.com/login" }, "clients[0].initiate_login_uri"},
		{"initiate login relative", func(c *Config) { c.Clients[0].InitiateLoginURI = "/login" }, "clients[0].initiate_login_uri"},
		{"initiate login fragment", func(c *Config) { c.Clients[0].InitiateLoginURI = "https://app.example.com/login#x" }, "clients[0].initiate_login_uri"},
		{"frontchannel http", func(c *Config) { c.Clients[0].FrontchannelLogoutURI = "http://app.example.com/fc" }, "clients[0].frontchannel_logout_uri"},

		// other client settings
		{"access token format", func(c *Config) { c.Clients[0].AccessTokenFormat = "paseto" }, "clients[0].access_token_format"},
		{"access token opaque", func(c *Config) { c.Clients[0].AccessTokenFormat = TokenFormatOpaque }, ""},
		{"pkce off public", func(c *Config) { c.Clients[1].RequirePKCE = new(false) }, "clients[1].require_pkce"},
		{"pkce off confidential", func(c *Config) { c.Clients[0].RequirePKCE = new(false) }, ""},
		{"origin with path", func(c *Config) { c.Clients[0].AllowedOrigins[0] = "https://app.example.com/" }, "clients[0].allowed_origins[0]"},
		{"origin without scheme", func(c *Config) { c.Clients[0].AllowedOrigins[1] = "app.example.com" }, "clients[0].allowed_origins[1]"},
		{"scope empty", func(c *Config) { c.Clients[2].Scopes[0] = "" }, "clients[2].scopes[0]"},
		{"scope with space", func(c *Config) { c.Clients[2].Scopes[1] = "reports read" }, "clients[2].scopes[1]"},
		{"client access token lifetime", func(c *Config) { c.Clients[0].Lifetimes.AccessToken = -1 }, "clients[0].lifetimes.access_token"},
		{"client id token lifetime", func(c *Config) { c.Clients[0].Lifetimes.IDToken = -1 }, "clients[0].lifetimes.id_token"},
		{"client refresh idle lifetime", func(c *Config) { c.Clients[0].Lifetimes.RefreshTokenIdle = -1 }, "clients[0].lifetimes.refresh_token_idle"},
		{"client refresh absolute lifetime", func(c *Config) { c.Clients[0].Lifetimes.RefreshTokenAbsolute = -1 }, "clients[0].lifetimes.refresh_token_absolute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(c)
			err := c.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			keys := problemKeys(t, err)
			if diff := cmp.Diff([]string{tc.wantKey}, keys); diff != "" {
				t.Errorf("problem keys mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.Contains(err.Error(), tc.wantKey+": ") {
				t.Errorf("error %q does not name %q", err, tc.wantKey)
			}
		})
	}
}

// problemKeys returns the keys of the problems err (a *ValidationError)
// lists.
func problemKeys(t *testing.T, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	var keys []string
	for _, p := range verr.Problems {
		keys = append(keys, p.Key)
	}
	return keys
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig()
	c.Issuer = ""
	c.Database.Driver = "mysql"
	c.Clients[1].RedirectURIs[0] = "ftp://files.example.com/cb"
	c.Clients[2].Scopes[0] = "a b"

	var verr *ValidationError
	if err := c.Validate(); !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	want := []Problem{
		{"clients[1].redirect_uris[0]", "must use https (or a private-use scheme like com.example.app: for a public native client)"},
		{"clients[2].scopes[0]", "must be a non-empty scope name without spaces or quotes"},
		{"database.driver", `"mysql" is not one of sqlite, postgres`},
		{"issuer", "required"},
	}
	if diff := cmp.Diff(want, verr.Problems); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(verr.Error(), "config: 4 invalid setting(s):\n  clients[1].redirect_uris[0]: ") {
		t.Errorf("Error() = %q", verr.Error())
	}
}

func TestValidateBeforeDefaults(t *testing.T) {
	// Without ApplyDefaults the durations are zero: Validate must say so
	// rather than accept them.
	c := &Config{Issuer: "https://login.example.com", Secret: testSecret}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "lifetimes.code: must be a positive duration") {
		t.Errorf("Validate = %v, want a lifetimes.code problem", err)
	}
}
