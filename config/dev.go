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
			Name:                   "Demo app",
			Secret:                 DevClientSecret,
			RedirectURIs:           []string{DevRedirectURI},
			PostLogoutRedirectURIs: []string{"http://localhost:8080/demo/"},
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
