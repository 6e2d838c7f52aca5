package config

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		"SEKISHO_SECRET":          testSecret,
		"SEKISHO_ISSUER":          "https://env.example.com",
		"SEKISHO_LISTEN":          ":9090",
		"SEKISHO_DATABASE_DRIVER": "postgres",
		"SEKISHO_DATABASE_DSN":    "postgres://db/sekisho",
		"SEKISHO_SMTP_HOST":       "smtp.env.example.com",
		"SEKISHO_SMTP_PORT":       "465",
		"SEKISHO_SMTP_USERNAME":   "env-user",
		"SEKISHO_SMTP_PASSWORD":   "env-password",
		"SEKISHO_SMTP_FROM":       "env@example.com",
	}
	c := &Config{
		Issuer: "https://file.example.com",
		Log:    Log{Level: "debug"},
		SMTP:   SMTP{Host: "smtp.file.example.com", Security: SecurityTLS},
	}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Issuer:   "https://env.example.com",
		Listen:   ":9090",
		Database: Database{Driver: "postgres", DSN: "postgres://db/sekisho"},
		SMTP: SMTP{
			Host: "smtp.env.example.com", Port: 465, Security: SecurityTLS,
			Username: "env-user", Password: "env-password", From: "env@example.com",
		},
		Log:    Log{Level: "debug"},
		Secret: testSecret,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestApplyEnvUnsetKeepsFile(t *testing.T) {
	c := &Config{Issuer: "https://file.example.com", SMTP: SMTP{Port: 25}}
	if err := c.ApplyEnv(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Config{Issuer: "https://file.example.com", SMTP: SMTP{Port: 25}}, c); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestApplyEnvBadPort(t *testing.T) {
	c := &Config{}
	err := c.ApplyEnv(func(k string) string {
		if k == EnvSMTPPort {
			return "smtp"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "SEKISHO_SMTP_PORT") {
		t.Errorf("ApplyEnv = %v, want an error naming SEKISHO_SMTP_PORT", err)
	}
}

func TestApplyDefaults(t *testing.T) {
	c := &Config{Clients: []Client{
		{ID: "web"},
		{ID: "batch", GrantTypes: []string{GrantClientCredentials}},
		{ID: "custom", GrantTypes: []string{GrantAuthorizationCode}, Scopes: []string{"openid"}, AccessTokenFormat: TokenFormatOpaque},
	}}
	c.ApplyDefaults()
	d := func(v time.Duration) Duration { return Duration(v) }
	want := &Config{
		Listen:   ":8080",
		Database: Database{Driver: "sqlite", DSN: "data/sekisho.db"},
		SMTP: SMTP{Port: 587, Security: "starttls", Timeout: d(10 * time.Second), From: "sekisho <noreply@localhost>",
			PollInterval: d(time.Second), RetryDelay: d(30 * time.Second), MaxAttempts: 10},
		Clients: []Client{
			{ID: "web", GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email"}, AccessTokenFormat: "jwt"},
			{ID: "batch", GrantTypes: []string{"client_credentials"}, AccessTokenFormat: "jwt"},
			{ID: "custom", GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, AccessTokenFormat: "opaque"},
		},
		Lifetimes: Lifetimes{
			AuthRequest:          d(30 * time.Minute),
			Code:                 d(60 * time.Second),
			AccessToken:          d(15 * time.Minute),
			IDToken:              d(time.Hour),
			RefreshTokenIdle:     d(720 * time.Hour),
			RefreshTokenAbsolute: d(2160 * time.Hour),
		},
		Refresh: Refresh{ReuseWindow: d(10 * time.Second)},
		Login: Login{Identifier: IdentifierEmail, Labels: LoginLabels{Organization: Labels{JA: "組織コード", EN: "Organization code"},
			Username: Labels{JA: "アカウント名", EN: "Account name"}}},
		Organizations: Organizations{DefaultTimeZone: "Asia/Tokyo"},
		Invitation:    Invitation{Lifetime: d(72 * time.Hour)},
		Admin:         Admin{MaxAge: d(time.Hour)},
		Lifecycle:     Lifecycle{DormantAfter: d(90 * 24 * time.Hour), UnlockLinkLifetime: d(24 * time.Hour)},
		Session:       Session{Idle: d(24 * time.Hour), Absolute: d(168 * time.Hour)},
		Logout: Logout{Wait: d(2 * time.Second), DeliveryTimeout: d(5 * time.Second), RetryDelay: d(5 * time.Second),
			MaxAttempts: 12, Parallel: 8, PollInterval: d(time.Second), ExpirySweepInterval: d(30 * time.Second),
			TokenLifetime: d(2 * time.Minute)},
		Reset: Reset{CodeLifetime: d(15 * time.Minute), MaxFailures: 5, PerEmailPerHour: 5, PerIPPerHour: 30,
			ResponseFloor: d(400 * time.Millisecond)},
		OTP: OTP{Policy: "off", CodeLifetime: d(5 * time.Minute), MaxFailures: 5, ResendCooldown: d(30 * time.Second),
			MaxSendsPerHour: 5, MaxFailuresPerHour: 10, RememberDevice: d(720 * time.Hour)},
		MFA:            MFA{Policy: "optional", MaxAge: d(15 * time.Minute)},
		Notify:         Notify{Login: "off"},
		Email:          Email{VerifyLifetime: d(10 * time.Minute)},
		Legacy:         Legacy{CheckFloor: d(300 * time.Millisecond)},
		PasswordPolicy: PasswordPolicy{Preset: "default"},
		Password:       Password{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, MaxConcurrent: 0},
		Keys:           Keys{Algorithm: "RS256", RefreshInterval: d(10 * time.Second)},
		Throttle:       Throttle{FreeFailures: 5, BaseDelay: d(time.Second), MaxDelay: d(15 * time.Minute), Window: d(time.Hour)},
		Log:            Log{Level: "info", Format: "json"},
		SweepInterval:  d(5 * time.Minute),
		ShutdownGrace:  d(20 * time.Second),
		Limits:         RequestLimits{MaxBodyBytes: 65536},
		UI:             UI{DefaultLanguage: "ja"},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestApplyDefaultsKeepsValues(t *testing.T) {
	c := &Config{
		Listen:    ":1",
		SMTP:      SMTP{Port: 2525, Security: SecurityNone},
		Lifetimes: Lifetimes{Code: Duration(time.Second)},
		Password:  Password{MemoryKiB: 65536},
	}
	c.ApplyDefaults()
	if c.Listen != ":1" || c.SMTP.Port != 2525 || c.SMTP.Security != SecurityNone ||
		c.Lifetimes.Code.D() != time.Second || c.Password.MemoryKiB != 65536 {
		t.Errorf("ApplyDefaults replaced values that were set: %+v", c)
	}
}

func TestDev(t *testing.T) {
	c := Dev()
	if err := c.Validate(); err != nil {
		t.Fatalf("Dev().Validate: %v", err)
	}
	if !c.Dev || c.Issuer != "http://localhost:8080" || c.Listen != ":8080" ||
		c.Database.Driver != DriverSQLite || c.Database.DSN != "data/sekisho.db" || c.Log.Format != "text" {
		t.Errorf("Dev() = %+v", c)
	}
	cl, ok := c.Client(DevClientID)
	if !ok {
		t.Fatalf("Dev() has no client %q", DevClientID)
	}
	want := Client{
		ID:                     "demo",
		Name:                   Labels{JA: "デモアプリ", EN: "Demo app"},
		Secret:                 "demo-secret",
		RedirectURIs:           []string{"http://localhost:8080/demo/callback"},
		PostLogoutRedirectURIs: []string{"http://localhost:8080/demo/"},
		InitiateLoginURI:       "http://localhost:8080/demo/login",
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		Scopes:                 []string{"openid", "profile", "email", "offline_access"},
		AccessTokenFormat:      "jwt",
	}
	if diff := cmp.Diff(want, cl); diff != "" {
		t.Errorf("demo client mismatch (-want +got):\n%s", diff)
	}
	if cl.Secret != DevClientSecret || cl.RedirectURIs[0] != DevRedirectURI {
		t.Error("demo client does not use the Dev constants")
	}

	raw, err := base64.StdEncoding.DecodeString(DevSecret)
	if err != nil || len(raw) != 32 {
		t.Errorf("DevSecret decodes to %d bytes, %v; want 32", len(raw), err)
	}

	// In dev an empty secret is allowed: the caller falls back to DevSecret.
	c.Secret = ""
	if err := c.Validate(); err != nil {
		t.Errorf("Dev with empty secret: %v", err)
	}
}

func TestClient(t *testing.T) {
	c := &Config{Clients: []Client{{ID: "a", Name: Labels{JA: "A", EN: "A"}}, {ID: "b", Name: Labels{JA: "B", EN: "B"}}}}
	if cl, ok := c.Client("b"); !ok || cl.Name != (Labels{JA: "B", EN: "B"}) {
		t.Errorf("Client(b) = %+v, %v", cl, ok)
	}
	if _, ok := c.Client("c"); ok {
		t.Error("Client(c) found a client")
	}
}

func TestClientPredicates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cl     Client
		public bool
		pkce   bool
	}{
		{"public", Client{}, true, true},
		{"public pkce false", Client{RequirePKCE: new(false)}, true, true},
		{"secret", Client{Secret: "s"}, false, true},
		{"digest", Client{SecretSHA256: "d"}, false, true},
		{"confidential pkce off", Client{Secret: "s", RequirePKCE: new(false)}, false, false},
	} {
		if got := tc.cl.Public(); got != tc.public {
			t.Errorf("%s: Public() = %v, want %v", tc.name, got, tc.public)
		}
		if got := tc.cl.PKCERequired(); got != tc.pkce {
			t.Errorf("%s: PKCERequired() = %v, want %v", tc.name, got, tc.pkce)
		}
	}
}

// TestFitDev: in --dev the issuer follows the listen address unless
// SEKISHO_ISSUER names one, and the demo client's URIs follow the issuer.
func TestFitDev(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		issuer  string
		wantErr string
	}{
		{"defaults", nil, "http://localhost:8080", ""},
		{"another port", map[string]string{EnvListen: ":9090"}, "http://localhost:9090", ""},
		{"wildcard host", map[string]string{EnvListen: "0.0.0.0:9091"}, "http://localhost:9091", ""},
		{"loopback address", map[string]string{EnvListen: "127.0.0.1:9092"}, "http://127.0.0.1:9092", ""},
		{"IPv6 loopback", map[string]string{EnvListen: "[::1]:9093"}, "http://[::1]:9093", ""},
		{"issuer given", map[string]string{EnvListen: ":9094", EnvIssuer: "http://dev.example.test:8443/"}, "http://dev.example.test:8443", ""},
		{"no port", map[string]string{EnvListen: "localhost"}, "", EnvListen},
		{"port 0", map[string]string{EnvListen: ":0"}, "", "fixed port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Dev()
			getenv := func(k string) string { return tc.env[k] }
			if err := c.ApplyEnv(getenv); err != nil {
				t.Fatal(err)
			}
			err := c.FitDev(getenv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("FitDev: %v, want an error naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(c.Issuer, "/"); got != tc.issuer {
				t.Errorf("issuer %q, want %q", got, tc.issuer)
			}
			cl, _ := c.Client(DevClientID)
			if diff := cmp.Diff([]string{tc.issuer + "/demo/callback"}, cl.RedirectURIs); diff != "" {
				t.Errorf("redirect URIs (-want +got)\n%s", diff)
			}
			if diff := cmp.Diff([]string{tc.issuer + "/demo/"}, cl.PostLogoutRedirectURIs); diff != "" {
				t.Errorf("post-logout URIs (-want +got)\n%s", diff)
			}
			if want := tc.issuer + "/demo/login"; cl.InitiateLoginURI != want {
				t.Errorf("initiate_login_uri %q, want %q", cl.InitiateLoginURI, want)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}
