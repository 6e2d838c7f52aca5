package config

import (
	"fmt"
	"net"
	"strings"
)

// The `serve --dev` demo setup. These values are public: they exist so that
// a developer can try sign-in without writing a file, and must never be used
// for a real deployment.
const (
	DevIssuer       = "http://localhost:8080"
	DevClientID     = "demo"
	DevClientSecret = "demo-secret"
	DevRedirectURI  = "http://localhost:8080/demo/callback"
	DevUserEmail    = "demo@example.com"
	DevUserPassword = "Demo-password-1!"
	// DevUserUsername is the demo user's account name, for the
	// organization+username sign-in mode.
	DevUserUsername = "demo"

	// The demo organization and its administrator, who holds the highest
	// role, so that a newcomer can open the console at once.
	DevOrgCode       = "demo"
	DevOrgName       = "デモ組織 (Demo organization)"
	DevAdminEmail    = "admin@example.com"
	DevAdminUsername = "admin"
	DevAdminName     = "Demo Admin"
	DevAdminPassword = "Kanri-console-7!"

	// DevSecret is the SEKISHO_SECRET used by `serve --dev` when none is set:
	// the base64 of the 32 bytes "sekisho-dev-secret-not-for-prod!". It is
	// published in the source, so anything derived from it (token hashes,
	// encrypted signing keys) is readable by anyone. Dev only.
	DevSecret = "c2VraXNoby1kZXYtc2VjcmV0LW5vdC1mb3ItcHJvZCE="
)

// DevRoles are the roles `serve --dev` declares when the configuration
// declares none, highest first.
func DevRoles() []Role {
	return []Role{
		{Name: "owner", Labels: Labels{JA: "管理者（契約者）", EN: "Owner"}, ManageMembers: true},
		{Name: "admin", Labels: Labels{JA: "管理者", EN: "Administrator"}, ManageMembers: true},
		{Name: "staff", Labels: Labels{JA: "スタッフ", EN: "Staff"}},
	}
}

// Dev returns the configuration of `serve --dev`: SQLite under ./data, plain
// http on localhost, text logs, the demo client, DevRoles and DevSecret,
// with defaults applied. Callers may still apply environment overrides (SEKISHO_SECRET
// replaces DevSecret).
func Dev() *Config {
	c := &Config{
		Issuer:   DevIssuer,
		Listen:   DefaultListen,
		Database: Database{Driver: DriverSQLite, DSN: DefaultDatabaseDSN},
		Log:      Log{Format: "text"},
		Clients: []Client{{
			ID:                     DevClientID,
			Name:                   Labels{JA: "デモアプリ", EN: "Demo app"},
			Secret:                 DevClientSecret,
			RedirectURIs:           []string{DevRedirectURI},
			PostLogoutRedirectURIs: []string{DevIssuer + "/demo/"},
			InitiateLoginURI:       DevIssuer + "/demo/login",
			GrantTypes:             []string{GrantAuthorizationCode, GrantRefreshToken},
			Scopes:                 []string{"openid", "profile", "email", "offline_access"},
		}},
		Roles:  DevRoles(),
		Secret: DevSecret,
		Dev:    true,
	}
	c.ApplyDefaults()
	return c
}

// FitDev makes the built-in --dev setup (Dev) match the addresses it
// really serves: without SEKISHO_ISSUER (read through getenv) the issuer
// follows the listen address (SEKISHO_LISTEN=:9090 gives
// http://localhost:9090), and the demo client's redirect and post-logout
// URIs follow the issuer, as the demo app under /demo/ builds them.
// Call it after ApplyEnv.
func (c *Config) FitDev(getenv func(string) string) error {
	if getenv(EnvIssuer) == "" {
		issuer, err := devIssuerFor(c.Listen)
		if err != nil {
			return err
		}
		c.Issuer = issuer
	}
	base := strings.TrimSuffix(c.Issuer, "/")
	for i := range c.Clients {
		if c.Clients[i].ID == DevClientID {
			c.Clients[i].RedirectURIs = []string{base + "/demo/callback"}
			c.Clients[i].PostLogoutRedirectURIs = []string{base + "/demo/"}
			c.Clients[i].InitiateLoginURI = base + "/demo/login"
		}
	}
	return nil
}

// devIssuerFor is the http issuer that reaches a listener on listen from
// this machine: a wildcard or empty host is localhost.
func devIssuerFor(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("config: %s %q: --dev needs host:port or :port (a fixed port, which the demo app's URIs name)", EnvListen, listen)
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
