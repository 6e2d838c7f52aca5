// Package server assembles sekisho into one http.Handler: the OpenID
// provider, the login pages, health and metrics, and the middleware every
// request passes (request id, logs, security headers, body limits,
// cross-origin protection); it also runs the background workers.
package server

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sekisho/sekisho/admin"
	"github.com/sekisho/sekisho/api"
	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/legacy"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/op"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// Options are the inputs of New.
type Options struct {
	Config *config.Config // validated
	Store  storage.Storage
	Logger *slog.Logger
	Now    func() time.Time
	// SMTPTLS, when set, is the TLS base configuration of the SMTP client
	// (tests trust their server's certificate with it).
	SMTPTLS *tls.Config
}

// Server is an assembled sekisho.
type Server struct {
	handler  http.Handler
	operator http.Handler
	cfg      *config.Config
	store    storage.Storage
	keys     *op.KeyManager
	provider *op.Provider
	logout   *op.Logout
	mail     *mail.Outbox
	log      *slog.Logger
	now      func() time.Time
	// clockSkew is sekisho_clock_skew_seconds (set once measured).
	clockSkew *prometheus.GaugeVec
}

// Metrics of the process.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	logins    *prometheus.CounterVec
	steps     *prometheus.CounterVec
	logouts   *prometheus.CounterVec
	mails     *prometheus.CounterVec
	// clockSkew has no labels: a vector, so that it is absent until
	// measured (never, on SQLite).
	clockSkew *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sekisho_http_requests_total",
			Help: "HTTP requests by route and status."}, []string{"route", "code"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sekisho_http_request_duration_seconds",
			Help:    "HTTP request durations by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sekisho_tokens_issued_total",
			Help: "Token responses issued, by grant type."}, []string{"grant"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sekisho_logins_total",
			Help: "Password sign-in attempts (the sign-in, unlock and legacy forms), by outcome (success, failure)."}, []string{"outcome"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sekisho_signin_steps_total",
			Help: "Submitted sign-in steps (password, unlock, legacy, code, change_password, reset, invitation), by outcome."},
			[]string{"step", "outcome"}),
		logouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sekisho_logout_deliveries_total",
			Help: "Back-channel logout delivery attempts, by outcome (delivered, retry, failed)."}, []string{"outcome"}),
	}
	m.mails = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sekisho_mail_deliveries_total",
		Help: "Mail delivery attempts, by outcome (delivered, retry, failed), and mails that expired unsent (expired)."}, []string{"outcome"})
	m.clockSkew = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sekisho_clock_skew_seconds",
		Help: "This replica's clock minus the database's (PostgreSQL), at the last check."}, nil)
	m.registry.MustRegister(m.requests, m.durations, m.tokens, m.logins, m.steps, m.logouts, m.mails, m.clockSkew,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// New builds the server: it loads (or creates) the signing keys and wires
// every handler. Background work starts with Run.
func New(ctx context.Context, o Options) (*Server, error) {
	cfg := o.Config
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	// Addresses are unique across the deployment in the email sign-in
	// mode, within each organization otherwise. A clash (one address in
	// two organizations) refuses the email mode; the error names them.
	if err := o.Store.SetEmailScope(ctx, cfg.Login.Identifier == config.IdentifierEmail); err != nil {
		return nil, fmt.Errorf("server: login.identifier %s: %w", cfg.Login.Identifier, err)
	}
	keys, err := secret.Parse(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("server: SEKISHO_SECRET: %w", err)
	}
	km := op.NewKeyManager(op.KeyManagerConfig{Store: o.Store, Sealer: keys, Algorithm: cfg.Keys.Algorithm,
		RefreshInterval: cfg.Keys.RefreshInterval.D(), Now: o.Now, Logger: log})
	if err := km.Init(ctx); err != nil {
		return nil, err
	}
	branding, err := brandOf(cfg)
	if err != nil {
		return nil, err
	}
	renderer, err := templates.New(templates.WithBrand(branding))
	if err != nil {
		return nil, err
	}
	https := strings.HasPrefix(cfg.Issuer, "https://")
	pg := &pages{r: renderer, secure: https, log: log, labels: cfg.Login.Labels, fallback: i18n.TagOf(cfg.UI.DefaultLanguage),
		orgs: o.Store}
	m := newMetrics()
	provider, err := op.New(op.Config{Config: cfg, Store: o.Store, Keys: km, Hasher: keys,
		CryptoKey: keys.OPCryptoKey(), Pages: pg, LoginPath: "/login", Now: o.Now, Logger: log,
		TokenIssued: func(g string) { m.tokens.WithLabelValues(g).Inc() }})
	if err != nil {
		return nil, err
	}
	m.registry.MustRegister(&queueCollector{store: o.Store, now: o.Now, log: log})
	// The connection pool's figures (go_sql_*), labelled by driver.
	if p, ok := o.Store.(interface {
		Pool() *sql.DB
		Driver() string
	}); ok {
		m.registry.MustRegister(collectors.NewDBStatsCollector(p.Pool(), p.Driver()))
	}
	outbox, devMail, err := newMailOutbox(cfg, o, keys, branding.LogoPath(), func(x string) { m.mails.WithLabelValues(x).Inc() })
	if err != nil {
		return nil, err
	}
	logout := op.NewLogout(op.LogoutConfig{Store: o.Store, Config: cfg, Keys: km, Clients: provider.Clients(),
		Now: o.Now, Logger: log, Outcome: func(x string) { m.logouts.WithLabelValues(x).Inc() }})
	flow, err := newFlow(o, keys, outbox, logout)
	if err != nil {
		return nil, err
	}
	clientIP, err := NewClientIP(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server: trusted_proxies: %w", err)
	}
	lh := login.NewHandlers(login.HandlerConfig{Flow: flow, OP: provider, Notifier: logout, Pages: pg, ClientIP: clientIP.Of,
		Secure: https, Logger: log, DeviceLifetime: cfg.OTP.RememberDevice.D(), StepLifetime: cfg.Lifetimes.AuthRequest.D(),
		Outcome: m.signInStep})

	metricsHandler := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	s := &Server{cfg: cfg, store: o.Store, keys: km, provider: provider, logout: logout, mail: outbox, log: log, now: o.Now,
		clockSkew: m.clockSkew, operator: operatorHandler(metricsHandler)}
	// Routes match the escaped path, so a percent-encoded "/" in an API
	// path segment (a legacy id) stays in its segment.
	r := mux.NewRouter().UseEncodedPath()
	r.Use(recordRoute)
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	if cfg.Metrics.Listen == "" {
		r.Handle("/metrics", metricsHandler).Methods(http.MethodGet)
	}
	r.HandleFunc("/.well-known/openid-configuration", provider.Discovery).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/keys", provider.JWKS).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/authorize", provider.Authorize).Methods(http.MethodGet, http.MethodPost)
	// The library's callback would hand a code to whoever knows a finished
	// request's id; our login pages answer directly instead.
	r.HandleFunc("/authorize/callback", func(w http.ResponseWriter, r *http.Request) {
		pg.Error(w, r, http.StatusNotFound, "error.not_found", "")
	})
	r.HandleFunc("/login", lh.LoginPage).Methods(http.MethodGet)
	r.HandleFunc("/login", lh.LoginSubmit).Methods(http.MethodPost)
	r.HandleFunc("/reset", lh.ForgotPage).Methods(http.MethodGet)
	r.HandleFunc("/reset", lh.ForgotSubmit).Methods(http.MethodPost)
	r.HandleFunc("/reset/verify", lh.ResetSubmit).Methods(http.MethodPost)
	r.HandleFunc("/login/otp", lh.OTPSubmit).Methods(http.MethodPost)
	r.HandleFunc("/login/otp/resend", lh.OTPResend).Methods(http.MethodPost)
	r.HandleFunc("/login/password", lh.ChangeSubmit).Methods(http.MethodPost)
	r.HandleFunc("/login/legacy", lh.LegacyPage).Methods(http.MethodGet)
	r.HandleFunc("/login/legacy", lh.LegacySubmit).Methods(http.MethodPost)
	r.HandleFunc("/account", lh.AccountPage).Methods(http.MethodGet)
	r.HandleFunc("/account/password", lh.AccountPassword).Methods(http.MethodPost)
	r.HandleFunc("/account/email", lh.AccountEmail).Methods(http.MethodPost)
	r.HandleFunc("/account/verify", lh.AccountVerify).Methods(http.MethodPost)
	r.HandleFunc("/account/otp", lh.AccountOTP).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa", lh.MFASubmit).Methods(http.MethodPost)
	r.HandleFunc("/account/mfa/totp", lh.AccountTOTPStart).Methods(http.MethodPost)
	r.HandleFunc("/account/mfa/totp/confirm", lh.AccountTOTPConfirm).Methods(http.MethodPost)
	r.HandleFunc("/account/mfa/totp/remove", lh.AccountTOTPRemove).Methods(http.MethodPost)
	r.HandleFunc("/account/mfa/recovery", lh.AccountRecoveryCodes).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/begin", lh.AccountPasskeyBegin).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys", lh.AccountPasskeyAdd).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/rename", lh.AccountPasskeyRename).Methods(http.MethodPost)
	r.HandleFunc("/account/passkeys/remove", lh.AccountPasskeyRemove).Methods(http.MethodPost)
	r.HandleFunc("/login/passkey/begin", lh.PasskeySignInBegin).Methods(http.MethodPost)
	r.HandleFunc("/login/passkey", lh.PasskeySignIn).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa/passkey/begin", lh.MFAPasskeyBegin).Methods(http.MethodPost)
	r.HandleFunc("/login/mfa/passkey/enrol/begin", lh.MFAPasskeyEnrolBegin).Methods(http.MethodPost)
	r.HandleFunc("/account/logout-all", lh.AccountLogoutAll).Methods(http.MethodPost)
	r.HandleFunc("/account/sessions/end", lh.AccountSessionEnd).Methods(http.MethodPost)
	r.HandleFunc("/email/verify", lh.VerifyEmailLink).Methods(http.MethodGet)
	r.HandleFunc("/invite", lh.InvitePage).Methods(http.MethodGet)
	r.HandleFunc("/unlock", lh.UnlockPage).Methods(http.MethodGet)
	r.HandleFunc("/invite", lh.InviteSubmit).Methods(http.MethodPost)
	console := admin.NewFlow(admin.Config{Store: o.Store, Accounts: flow, Mailer: outbox, Sessions: logout, Roles: cfg.Roles, Identifier: cfg.Login.Identifier, MaxMembers: cfg.Organizations.MaxMembers,
		MaxAge: cfg.Admin.MaxAge.D(), DormantAfter: cfg.Lifecycle.DormantAfterD(), Now: o.Now, Logger: log})
	admin.NewHandlers(admin.HandlerConfig{Flow: console, Renderer: renderer, Pages: pg, SessionToken: lh.SessionToken,
		Notifier: logout, ClientIP: clientIP.Of, Secure: https, InvitationTTL: cfg.Invitation.Lifetime.D(),
		VerifyTTL: cfg.Email.VerifyLifetime.D(), Logger: log}).Mount(r)
	r.HandleFunc("/end_session", lh.EndSession).Methods(http.MethodGet, http.MethodPost)
	r.HandleFunc("/logout", lh.LogoutPage).Methods(http.MethodGet)
	r.HandleFunc("/", pg.home(cfg.Dev)).Methods(http.MethodGet, http.MethodHead)
	api.New(provider, flow, log).Mount(r)
	r.Handle(orgLogoRoute, orgLogo(o.Store, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg.Error(w, r, http.StatusNotFound, "error.not_found", "")
	}))).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix(templates.StaticPrefix).Handler(renderer.StaticHandler())
	if cfg.Dev {
		if err := mountDemo(r, cfg, renderer, pg); err != nil {
			return nil, err
		}
		if devMail != nil {
			r.Handle("/dev/mail", devMailPage(devMail)).Methods(http.MethodGet)
		}
	}
	for path, h := range provider.Endpoints() {
		r.Handle(path, h)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg.Error(w, r, http.StatusNotFound, "error.not_found", "")
	})

	cop := http.NewCrossOriginProtection()
	// Bearer-token endpoints carry no ambient credentials.
	for _, p := range []string{"/authorize", "/end_session", "/oauth/token", "/oauth/introspect", "/userinfo", "/revoke", "/api/"} {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pg.Error(w, r, http.StatusForbidden, "error.cross_site", "")
	}))
	var h http.Handler = cop.Handler(r)
	h = checkInput(cfg.Limits.MaxBodyBytes, inputRejecter{page: func(w http.ResponseWriter, r *http.Request, status int, key string) {
		pg.Error(w, r, status, key, "")
	}, oauth: provider.RefuseInput}, h)
	h = securityHeaders(contentSecurityPolicy(cfg), strictTransportSecurity(cfg), h)
	h = observe(log, m.requests, m.durations, h)
	s.handler = h
	return s, nil
}

// signInStep counts a submitted sign-in step; the password forms count
// in sekisho_logins_total as well, as they always have (a locked
// account's right password as a failure).
func (m *metrics) signInStep(step, outcome string) {
	m.steps.WithLabelValues(step, outcome).Inc()
	if step != login.StepPassword && step != login.StepUnlock && step != login.StepLegacy && step != login.StepPasskey {
		return
	}
	switch outcome {
	case login.OutcomeSuccess:
		m.logins.WithLabelValues(login.OutcomeSuccess).Inc()
	case login.OutcomeFailure, login.OutcomeLocked:
		m.logins.WithLabelValues(login.OutcomeFailure).Inc()
	}
}

// queueCollector reports the work waiting in the database (the mail
// outbox, the back-channel logout deliveries), read when /metrics is
// scraped, so every replica shows the same figures, restarts included.
type queueCollector struct {
	store interface {
		MailQueue(ctx context.Context) (storage.QueueStats, error)
		LogoutQueue(ctx context.Context) (storage.QueueStats, error)
	}
	now func() time.Time
	log *slog.Logger
}

var (
	mailQueueDesc = prometheus.NewDesc("sekisho_mail_outbox",
		"Mails in the outbox, by status (pending, delivered, failed, expired; finished ones are kept 7 days).",
		[]string{"status"}, nil)
	mailAgeDesc = prometheus.NewDesc("sekisho_mail_outbox_oldest_pending_seconds",
		"How long the oldest pending mail has waited (0 when none is pending).", nil, nil)
	deliveriesDesc = prometheus.NewDesc("sekisho_logout_deliveries",
		"Back-channel logout deliveries in the database, by status (pending, delivered, failed; finished ones are kept 7 days).",
		[]string{"status"}, nil)
	deliveryAgeDesc = prometheus.NewDesc("sekisho_logout_deliveries_oldest_pending_seconds",
		"How long the oldest pending back-channel logout delivery has waited (0 when none is pending).", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- mailQueueDesc
	ch <- mailAgeDesc
	ch <- deliveriesDesc
	ch <- deliveryAgeDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, q := range []struct {
		name       string
		stats      func(context.Context) (storage.QueueStats, error)
		count, age *prometheus.Desc
		statuses   []string
	}{
		{"mail outbox", c.store.MailQueue, mailQueueDesc, mailAgeDesc,
			[]string{storage.DeliveryPending, storage.DeliveryDelivered, storage.DeliveryFailed, storage.DeliveryExpired}},
		{"logout deliveries", c.store.LogoutQueue, deliveriesDesc, deliveryAgeDesc,
			[]string{storage.DeliveryPending, storage.DeliveryDelivered, storage.DeliveryFailed}},
	} {
		st, err := q.stats(ctx)
		if err != nil {
			c.log.Warn("read the "+q.name+" for /metrics", "err", err)
			continue
		}
		for _, s := range q.statuses {
			ch <- prometheus.MustNewConstMetric(q.count, prometheus.GaugeValue, float64(st.ByStatus[s]), s)
		}
		age := 0.0
		if !st.OldestPending.IsZero() {
			age = max(c.now().Sub(st.OldestPending).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(q.age, prometheus.GaugeValue, age)
	}
}

// contentSecurityPolicy allows our own stylesheet and nothing else; form
// submissions may end in redirects to the clients' registered URIs.
func contentSecurityPolicy(cfg *config.Config) string {
	var uris []string
	for _, c := range cfg.Clients {
		uris = append(append(uris, c.RedirectURIs...), c.PostLogoutRedirectURIs...)
	}
	targets := append([]string{"'self'"}, origins(uris)...)
	return "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action " +
		strings.Join(targets, " ")
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// OperatorHandler serves the operators' listener (metrics.listen):
// /metrics and the Go profiler under /debug/pprof/. It must never be
// reachable from outside.
func (s *Server) OperatorHandler() http.Handler { return s.operator }

func operatorHandler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Keys returns the signing-key manager (for `keys rotate` and tests).
func (s *Server) Keys() *op.KeyManager { return s.keys }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready: database", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unreachable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Mail returns the mail outbox.
func (s *Server) Mail() *mail.Outbox { return s.mail }

// Logout returns the single-logout service (for the CLI and tests).
func (s *Server) Logout() *op.Logout { return s.logout }

// Run runs the background workers (key reload, logout deliveries and the
// end of expired sessions, expiry sweep and dormant accounts, clock
// check) until ctx ends, then waits for logout deliveries in flight.
func (s *Server) Run(ctx context.Context) {
	go s.keys.Run(ctx)
	logoutDone, mailDone, clockDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(logoutDone)
		s.logout.Run(ctx)
	}()
	go func() {
		defer close(mailDone)
		s.mail.Run(ctx)
	}()
	go func() {
		defer close(clockDone)
		s.watchClock(ctx)
	}()
	defer func() { <-logoutDone; <-mailDone; <-clockDone }()
	t := time.NewTicker(s.cfg.SweepInterval.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.store.DeleteExpired(ctx, s.now().UTC())
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "sweep expired rows", "err", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "swept expired rows", "rows", n)
			}
			s.sweepDormant(ctx)
		}
	}
}

// newFlow builds the browser flows on o.Store: mails go through outbox,
// ended sessions are announced through logout.
func newFlow(o Options, keys *secret.Keys, outbox login.Mailer, logout *op.Logout) (*login.Flow, error) {
	cfg := o.Config
	maxHash := cfg.Password.MaxConcurrent
	if maxHash <= 0 {
		maxHash = runtime.GOMAXPROCS(0)
	}
	hasher := password.New(password.Params{MemoryKiB: cfg.Password.MemoryKiB, Iterations: cfg.Password.Iterations,
		Parallelism: cfg.Password.Parallelism}, maxHash)
	policy, err := PasswordPolicy(cfg)
	if err != nil {
		return nil, err
	}
	return login.NewFlow(login.FlowConfig{Store: o.Store, Passwords: hasher, Hasher: keys, Sessions: logout,
		Mailer: outbox, Policy: policy,
		SessionIdle: cfg.Session.Idle.D(), SessionAbsolute: cfg.Session.Absolute.D(),
		Throttle: login.Throttle{FreeFailures: cfg.Throttle.FreeFailures, BaseDelay: cfg.Throttle.BaseDelay.D(),
			MaxDelay: cfg.Throttle.MaxDelay.D(), Window: cfg.Throttle.Window.D()},
		Reset: login.ResetConfig{CodeTTL: cfg.Reset.CodeLifetime.D(), MaxFailures: cfg.Reset.MaxFailures,
			PerEmail: cfg.Reset.PerEmailPerHour, PerIP: cfg.Reset.PerIPPerHour, Floor: cfg.Reset.ResponseFloor.D()},
		OTP: login.OTPConfig{Policy: cfg.OTP.Policy, ClientRequires: func(id string) bool {
			cl, ok := cfg.Client(id)
			return ok && cl.OTP == config.OTPAlways
		}, CodeTTL: cfg.OTP.CodeLifetime.D(), MaxFailures: cfg.OTP.MaxFailures, MaxFailuresPerHour: cfg.OTP.MaxFailuresPerHour,
			Cooldown:        cfg.OTP.ResendCooldown.D(),
			MaxSendsPerHour: cfg.OTP.MaxSendsPerHour, RememberDevice: cfg.OTP.RememberDevice.D(), NotifyLogin: cfg.Notify.Login},
		MFA: login.MFAConfig{Policy: cfg.MFA.Policy, ClientRequires: func(id string) bool {
			cl, ok := cfg.Client(id)
			return ok && cl.MFA == config.MFARequired
		}, Issuer: cfg.ProductName().In("en"), MaxAge: cfg.MFA.MaxAge.D(), Sealer: keys},
		Account: login.AccountConfig{BaseURL: cfg.Issuer, VerifyTTL: cfg.Email.VerifyLifetime.D(),
			RequestTTL: cfg.Lifetimes.AuthRequest.D(), PerHour: cfg.Reset.PerEmailPerHour, InviteTTL: cfg.Invitation.Lifetime.D()},
		Legacy: legacyConfig(cfg),
		Lock: login.LockConfig{After: cfg.Lifecycle.DormantAfterD(), LinkTTL: cfg.Lifecycle.UnlockLinkLifetime.D(),
			ManagerRoles: managerRoles(cfg)},
		Identifier: cfg.Login.Identifier,
		ClientOrganizations: func(id string) []string {
			cl, _ := cfg.Client(id)
			return cl.Organizations
		},
		Now: o.Now, Logger: o.Logger}), nil
}

// legacyConfig is the bridge for imported users. Imported hashes are
// checked even when the bridge is off (the users exist); the floor and
// the pages' notices need it on.
func legacyConfig(cfg *config.Config) login.LegacyConfig {
	lc := login.LegacyConfig{Enabled: cfg.Legacy.Enabled, Name: cfg.Legacy.Name.Text(), Verify: legacy.Verify}
	if cfg.Legacy.Enabled {
		lc.CheckFloor = cfg.Legacy.CheckFloor.D()
		lc.WindowEnd, _, _ = cfg.Legacy.WindowEnd()
	}
	return lc
}

// CLIFlow builds the flows for the command line: mails it writes wait in
// the outbox for the running server, sessions it ends are announced by
// the server's workers.
func CLIFlow(o Options) (*login.Flow, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	keys, err := secret.Parse(o.Config.Secret)
	if err != nil {
		return nil, fmt.Errorf("server: SEKISHO_SECRET: %w", err)
	}
	branding, err := brandOf(o.Config)
	if err != nil {
		return nil, err
	}
	outbox, _, err := newMailOutbox(o.Config, o, keys, branding.LogoPath(), nil)
	if err != nil {
		return nil, err
	}
	logout := op.NewLogout(op.LogoutConfig{Store: o.Store, Config: o.Config, Now: o.Now, Logger: o.Logger})
	return newFlow(o, keys, queueOnly{outbox}, logout)
}

// queueOnly leaves mails in the outbox: a command exits before it could
// finish sending them; the server's workers send them.
type queueOnly struct{ *mail.Outbox }

func (queueOnly) SendNow(context.Context, ...string) {}

// Clock skew. Every replica times codes, tokens, sessions, leases and
// rate windows with its own clock (the Go clock, which tests inject) and
// compares times other replicas wrote, so their clocks must agree: hosts
// need NTP. Each replica compares its clock with the database's at start
// and every ClockCheckInterval, exposes the difference as
// sekisho_clock_skew_seconds and warns beyond MaxClockSkew.
const (
	// MaxClockSkew is the difference beyond which a replica warns, well
	// before things break: a claim's lease outlives its attempt by at
	// least 5 s, so only replicas further apart than that could take over
	// a mail or logout delivery still in flight and send it twice.
	MaxClockSkew = 2 * time.Second
	// ClockCheckInterval is how often the clock is compared.
	ClockCheckInterval = time.Minute
)

// watchClock checks the clock at start and every ClockCheckInterval until
// ctx ends; not at all on a database without a clock of its own.
func (s *Server) watchClock(ctx context.Context) {
	t := time.NewTicker(ClockCheckInterval)
	defer t.Stop()
	for {
		_, ok, err := s.checkClock(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "compare the clock with the database's", "err", err)
		case err == nil && !ok:
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkClock measures this replica's clock minus the database's (taking
// the middle of the query's round trip as the moment the database read its
// clock), records it and warns when it exceeds MaxClockSkew. ok is false
// when the database has no clock of its own (SQLite).
func (s *Server) checkClock(ctx context.Context) (skew time.Duration, ok bool, err error) {
	before := s.now()
	db, ok, err := s.store.DatabaseTime(ctx)
	after := s.now()
	if err != nil || !ok {
		return 0, ok, err
	}
	skew = before.Add(after.Sub(before) / 2).Sub(db)
	s.clockSkew.WithLabelValues().Set(skew.Seconds())
	if skew > MaxClockSkew || skew < -MaxClockSkew {
		s.log.WarnContext(ctx, "this host's clock differs from the database's: keep every host's clock in sync (NTP)",
			"skew_seconds", skew.Seconds(), "max_skew_seconds", MaxClockSkew.Seconds())
	}
	return skew, true, nil
}

// managerRoles are the declared roles that may manage members.
func managerRoles(cfg *config.Config) []string {
	var out []string
	for _, r := range cfg.Roles {
		if r.ManageMembers {
			out = append(out, r.Name)
		}
	}
	return out
}
