package config

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

	// DevSecret is the SEKISHO_SECRET used by `serve --dev` when none is set:
	// the base64 of the 32 bytes "sekisho-dev-secret-not-for-prod!". It is
	// published in the source, so anything derived from it (token hashes,
	// encrypted signing keys) is readable by anyone. Dev only.
	DevSecret = "c2VraXNoby1kZXYtc2VjcmV0LW5vdC1mb3ItcHJvZCE="
)

// Dev returns the configuration of `serve --dev`: SQLite under ./data, plain
// http on localhost, text logs, the demo client and DevSecret, with defaults
// applied. Callers may still apply environment overrides (SEKISHO_SECRET
// replaces DevSecret).
func Dev() *Config {
	c := &Config{
		Issuer:   DevIssuer,
		Listen:   DefaultListen,
		Database: Database{Driver: DriverSQLite, DSN: DefaultDatabaseDSN},
		Log:      Log{Format: "text"},
		Clients: []Client{{
			ID:                     DevClientID,
			Name:                   "Demo app",
			Secret:                 DevClientSecret,
			RedirectURIs:           []string{DevRedirectURI},
			PostLogoutRedirectURIs: []string{"http://localhost:8080/demo/"},
			GrantTypes:             []string{GrantAuthorizationCode, GrantRefreshToken},
			Scopes:                 []string{"openid", "profile", "email", "offline_access"},
		}},
		Secret: DevSecret,
		Dev:    true,
	}
	c.ApplyDefaults()
	return c
}
