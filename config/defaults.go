package config

import "time"

// Defaults filled in by ApplyDefaults for keys the file leaves out.
const (
	DefaultListen = ":8080"
	// DefaultUILanguage is ui.default_language: the product is
	// Japanese-first.
	DefaultUILanguage     = "ja"
	DefaultDatabaseDriver = DriverSQLite
	DefaultDatabaseDSN    = "data/sekisho.db"

	DefaultSMTPPort     = 587
	DefaultSMTPSecurity = SecurityStartTLS
	DefaultSMTPTimeout  = 10 * time.Second
	DefaultSMTPFrom     = "sekisho <noreply@localhost>"

	DefaultMailPollInterval = time.Second
	DefaultMailRetryDelay   = 30 * time.Second
	DefaultMailMaxAttempts  = 10

	DefaultAuthRequestLifetime          = 30 * time.Minute
	DefaultCodeLifetime                 = 60 * time.Second
	DefaultAccessTokenLifetime          = 15 * time.Minute
	DefaultIDTokenLifetime              = time.Hour
	DefaultRefreshTokenIdleLifetime     = 720 * time.Hour  // 30 days
	DefaultRefreshTokenAbsoluteLifetime = 2160 * time.Hour // 90 days

	DefaultRefreshReuseWindow = 10 * time.Second
	// MaxRefreshReuseWindow bounds refresh.reuse_window: a longer grace
	// would let a stolen, rotated token be redeemed for long.
	MaxRefreshReuseWindow = time.Minute

	DefaultSessionIdle     = 24 * time.Hour
	DefaultSessionAbsolute = 168 * time.Hour // 7 days

	// The argon2id parameters follow the OWASP minimum (19 MiB, t=2, p=1).
	DefaultPasswordMemoryKiB   = 19456
	DefaultPasswordIterations  = 2
	DefaultPasswordParallelism = 1

	DefaultLogoutWait                = 2 * time.Second
	DefaultLogoutDeliveryTimeout     = 5 * time.Second
	DefaultLogoutRetryDelay          = 5 * time.Second
	DefaultLogoutMaxAttempts         = 12
	DefaultLogoutParallel            = 8
	DefaultLogoutPollInterval        = time.Second
	DefaultLogoutExpirySweepInterval = 30 * time.Second
	DefaultLogoutTokenLifetime       = 2 * time.Minute

	DefaultResetCodeLifetime  = 15 * time.Minute
	DefaultResetMaxFailures   = 5
	DefaultResetPerEmail      = 5
	DefaultResetPerIP         = 30
	DefaultResetResponseFloor = 400 * time.Millisecond
	DefaultPasswordPreset     = "default"
	DefaultOTPPolicy          = OTPOff
	DefaultOTPCodeLifetime    = 5 * time.Minute
	DefaultOTPMaxFailures     = 5
	DefaultOTPResendCooldown  = 30 * time.Second
	DefaultOTPMaxSends        = 5
	DefaultOTPMaxFailuresHour = 10
	DefaultOTPRememberDevice  = 30 * 24 * time.Hour
	DefaultMFAPolicy          = MFAOptional
	DefaultMFAMaxAge          = 15 * time.Minute
	DefaultNotifyLogin        = "off"
	DefaultVerifyLifetime     = 10 * time.Minute
	DefaultLegacyCheckFloor   = 300 * time.Millisecond

	DefaultKeysAlgorithm       = AlgRS256
	DefaultKeysRefreshInterval = 10 * time.Second

	DefaultThrottleFreeFailures = 5
	DefaultThrottleBaseDelay    = time.Second
	DefaultThrottleMaxDelay     = 15 * time.Minute
	DefaultThrottleWindow       = time.Hour

	DefaultLogLevel  = "info"
	DefaultLogFormat = "json"

	DefaultSweepInterval = 5 * time.Minute
	DefaultShutdownGrace = 20 * time.Second
	DefaultMaxBodyBytes  = 64 << 10

	DefaultAccessTokenFormat = TokenFormatJWT
)

// DefaultGrantTypes are the grant types of a client that names none. It
// returns a new slice on each call, like DefaultScopes.
func DefaultGrantTypes() []string { return []string{GrantAuthorizationCode} }

// DefaultScopes are the scopes of an authorization-code client that names
// none.
func DefaultScopes() []string { return []string{"openid", "profile", "email"} }

// ApplyDefaults fills every key left empty (zero) with its default.
// Password.MaxConcurrent stays 0, which callers read as GOMAXPROCS.
func (c *Config) ApplyDefaults() {
	setDefault(&c.UI.DefaultLanguage, DefaultUILanguage)
	setDefault(&c.Listen, DefaultListen)
	setDefault(&c.Database.Driver, DefaultDatabaseDriver)
	setDefault(&c.Database.DSN, DefaultDatabaseDSN)

	setDefault(&c.SMTP.Port, DefaultSMTPPort)
	setDefault(&c.SMTP.Security, DefaultSMTPSecurity)
	setDuration(&c.SMTP.Timeout, DefaultSMTPTimeout)
	setDefault(&c.SMTP.From, DefaultSMTPFrom)
	setDuration(&c.SMTP.PollInterval, DefaultMailPollInterval)
	setDuration(&c.SMTP.RetryDelay, DefaultMailRetryDelay)
	setDefault(&c.SMTP.MaxAttempts, DefaultMailMaxAttempts)

	setDuration(&c.Lifetimes.AuthRequest, DefaultAuthRequestLifetime)
	setDuration(&c.Lifetimes.Code, DefaultCodeLifetime)
	setDuration(&c.Lifetimes.AccessToken, DefaultAccessTokenLifetime)
	setDuration(&c.Lifetimes.IDToken, DefaultIDTokenLifetime)
	setDuration(&c.Lifetimes.RefreshTokenIdle, DefaultRefreshTokenIdleLifetime)
	setDuration(&c.Lifetimes.RefreshTokenAbsolute, DefaultRefreshTokenAbsoluteLifetime)

	setDuration(&c.Refresh.ReuseWindow, DefaultRefreshReuseWindow)
	setDefault(&c.Login.Identifier, IdentifierEmail)
	setDefault(&c.Login.Labels.Organization.JA, defaultLabelOrganizationJA)
	setDefault(&c.Login.Labels.Organization.EN, defaultLabelOrganizationEN)
	setDefault(&c.Login.Labels.Username.JA, defaultLabelUsernameJA)
	setDefault(&c.Login.Labels.Username.EN, defaultLabelUsernameEN)
	for i := range c.Roles {
		setDefault(&c.Roles[i].Labels.JA, c.Roles[i].Name)
		setDefault(&c.Roles[i].Labels.EN, c.Roles[i].Name)
	}
	setDefault(&c.Organizations.DefaultTimeZone, defaultTimeZone)
	setDuration(&c.Invitation.Lifetime, defaultInvitationLifetime)
	setDuration(&c.Admin.MaxAge, defaultAdminMaxAge)
	setDuration(&c.Lifecycle.DormantAfter, DefaultDormantAfter)
	setDuration(&c.Lifecycle.UnlockLinkLifetime, DefaultUnlockLinkLifetime)
	setDuration(&c.Session.Idle, DefaultSessionIdle)
	setDuration(&c.Session.Absolute, DefaultSessionAbsolute)

	setDuration(&c.Logout.Wait, DefaultLogoutWait)
	setDuration(&c.Logout.DeliveryTimeout, DefaultLogoutDeliveryTimeout)
	setDuration(&c.Logout.RetryDelay, DefaultLogoutRetryDelay)
	setDefault(&c.Logout.MaxAttempts, DefaultLogoutMaxAttempts)
	setDefault(&c.Logout.Parallel, DefaultLogoutParallel)
	setDuration(&c.Logout.PollInterval, DefaultLogoutPollInterval)
	setDuration(&c.Logout.ExpirySweepInterval, DefaultLogoutExpirySweepInterval)
	setDuration(&c.Logout.TokenLifetime, DefaultLogoutTokenLifetime)

	setDuration(&c.Reset.CodeLifetime, DefaultResetCodeLifetime)
	setDefault(&c.Reset.MaxFailures, DefaultResetMaxFailures)
	setDefault(&c.Reset.PerEmailPerHour, DefaultResetPerEmail)
	setDefault(&c.Reset.PerIPPerHour, DefaultResetPerIP)
	setDuration(&c.Reset.ResponseFloor, DefaultResetResponseFloor)
	setDefault(&c.PasswordPolicy.Preset, DefaultPasswordPreset)
	setDefault(&c.OTP.Policy, DefaultOTPPolicy)
	setDuration(&c.OTP.CodeLifetime, DefaultOTPCodeLifetime)
	setDefault(&c.OTP.MaxFailures, DefaultOTPMaxFailures)
	setDuration(&c.OTP.ResendCooldown, DefaultOTPResendCooldown)
	setDefault(&c.OTP.MaxSendsPerHour, DefaultOTPMaxSends)
	setDefault(&c.OTP.MaxFailuresPerHour, DefaultOTPMaxFailuresHour)
	setDuration(&c.OTP.RememberDevice, DefaultOTPRememberDevice)
	setDefault(&c.MFA.Policy, DefaultMFAPolicy)
	setDuration(&c.MFA.MaxAge, DefaultMFAMaxAge)
	setDefault(&c.Notify.Login, DefaultNotifyLogin)
	setDuration(&c.Email.VerifyLifetime, DefaultVerifyLifetime)
	setDuration(&c.Legacy.CheckFloor, DefaultLegacyCheckFloor)

	setDefault(&c.Password.MemoryKiB, DefaultPasswordMemoryKiB)
	setDefault(&c.Password.Iterations, DefaultPasswordIterations)
	setDefault(&c.Password.Parallelism, DefaultPasswordParallelism)

	setDefault(&c.Keys.Algorithm, DefaultKeysAlgorithm)
	setDuration(&c.Keys.RefreshInterval, DefaultKeysRefreshInterval)

	setDefault(&c.Throttle.FreeFailures, DefaultThrottleFreeFailures)
	setDuration(&c.Throttle.BaseDelay, DefaultThrottleBaseDelay)
	setDuration(&c.Throttle.MaxDelay, DefaultThrottleMaxDelay)
	setDuration(&c.Throttle.Window, DefaultThrottleWindow)

	setDefault(&c.Log.Level, DefaultLogLevel)
	setDefault(&c.Log.Format, DefaultLogFormat)

	setDuration(&c.SweepInterval, DefaultSweepInterval)
	setDuration(&c.ShutdownGrace, DefaultShutdownGrace)
	setDefault(&c.Limits.MaxBodyBytes, DefaultMaxBodyBytes)

	for i := range c.Clients {
		c.Clients[i].applyDefaults()
	}
}

func (cl *Client) applyDefaults() {
	if len(cl.GrantTypes) == 0 {
		cl.GrantTypes = DefaultGrantTypes()
	}
	setDefault(&cl.AccessTokenFormat, DefaultAccessTokenFormat)
	if len(cl.Scopes) == 0 && cl.HasGrant(GrantAuthorizationCode) {
		cl.Scopes = DefaultScopes()
	}
}

// setDefault stores def in *p if *p is the zero value.
func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// setDuration is setDefault for a Duration with a time.Duration default.
func setDuration(p *Duration, def time.Duration) { setDefault(p, Duration(def)) }
