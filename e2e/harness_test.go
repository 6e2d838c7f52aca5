package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"github.com/sekisho/sekisho/htmltest"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/server"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

const (
	webSecret  = "web-secret-0123456789-0123456789-abcdef"
	web2Secret = "web2-secret-0123456789-0123456789-abcdef"
	apiSecret  = "api-secret-0123456789-0123456789-abcdef"
	rsSecret   = "rs-secret-0123456789-0123456789-abcdefg"
	userPass   = "Correct-horse-9!"
	otherPass  = "Other-battery-7?"
	webCB      = "http://127.0.0.1/web/callback"
	web2CB     = "http://127.0.0.1/web2/callback"
	spaCB      = "http://127.0.0.1/spa/callback"
	webHome    = "http://127.0.0.1/web/"
)

// clientTimeout bounds every HTTP request a test sends. It is generous:
// a sign-in hashes with argon2id (and legacy hashes with bcrypt) behind
// the server's hashing gate, and under the race detector on a loaded
// 2-core machine one request may wait behind several others. A limit
// this long still ends a hung test long before the suite's timeout.
const clientTimeout = 2 * time.Minute

// httpClient sends the tests' direct requests (token, introspection,
// API calls): no cookies, redirects followed, bounded in time.
var httpClient = &http.Client{Timeout: clientTimeout}

// waitLimit bounds how long a test waits for something the server does in
// the background (a mail, a logout delivery): long enough for a loaded
// machine, short enough to end a test whose worker never acts.
const waitLimit = time.Minute

// backends runs fn against SQLite and PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, newStore func(t *testing.T) storage.Storage)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) storage.Storage { return gormstoretest.NewSQLite(t) })
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, func(t *testing.T) storage.Storage { return gormstoretest.NewPostgres(t) })
	})
}

type env struct {
	t     *testing.T
	clock *clock
	store storage.Storage
	ts    *httptest.Server
	cfg   *config.Config
	user  storage.User
	other storage.User
	srv   *server.Server
	// smtpTLS trusts the test SMTP server's certificate.
	smtpTLS *tls.Config
	// logs holds what the server logged at warning level and above.
	logs *logSink
}

// logSink keeps the server's log records of warning level and above, so
// a test can check that bad input did not reach the database.
type logSink struct {
	mu      sync.Mutex
	records []string
}

func (l *logSink) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelWarn }

func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	l.mu.Lock()
	l.records = append(l.records, line)
	l.mu.Unlock()
	return nil
}

func (l *logSink) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logSink) WithGroup(string) slog.Handler      { return l }

// errors returns the ERROR records logged so far.
func (l *logSink) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if strings.HasPrefix(r, "ERROR") {
			out = append(out, r)
		}
	}
	return out
}

func testConfig(issuer string) *config.Config {
	no := false
	cfg := &config.Config{
		Issuer: issuer,
		Secret: base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")),
		Clients: []config.Client{
			{ID: "web", Name: config.Labels{JA: "Web App", EN: "Web App"}, Secret: webSecret, RedirectURIs: []string{webCB},
				PostLogoutRedirectURIs: []string{webHome},
				GrantTypes:             []string{"authorization_code", "refresh_token"},
				Scopes:                 []string{"openid", "profile", "email", "offline_access"}},
			{ID: "web2", Name: config.Labels{JA: "Second App", EN: "Second App"}, Secret: web2Secret, RedirectURIs: []string{web2CB},
				GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile", "email"},
				AccessTokenFormat: "opaque"},
			{ID: "legacy", Name: config.Labels{JA: "Certification", EN: "Certification"}, Secret: web2Secret, RedirectURIs: []string{"http://127.0.0.1/legacy/callback"},
				GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, RequirePKCE: &no},
			{ID: "spa", Name: config.Labels{JA: "SPA", EN: "SPA"}, RedirectURIs: []string{spaCB}, GrantTypes: []string{"authorization_code", "refresh_token"},
				Scopes: []string{"openid", "profile", "email", "offline_access"}},
			{ID: "api", Name: config.Labels{JA: "API", EN: "API"}, Secret: apiSecret, GrantTypes: []string{"client_credentials"},
				Scopes: []string{"api", "reports"}, AccessTokenFormat: "opaque"},
			// rs is a resource server that may introspect the tokens of
			// every other client.
			{ID: "rs", Name: config.Labels{JA: "Resource server", EN: "Resource server"}, Secret: rsSecret, GrantTypes: []string{"client_credentials"},
				Scopes: []string{"api"}, IntrospectFor: []string{"web", "web2", "legacy", "spa", "api"}},
		},
		Password: config.Password{MemoryKiB: 8192, Iterations: 1, Parallelism: 1},
		Log:      config.Log{Level: "error"},
		// The tests read the English pages and mails of a client that
		// names no language; the Japanese default (ui.default_language's
		// own default) has its test, TestDefaultLanguage.
		UI: config.UI{DefaultLanguage: "en"},
	}
	cfg.ApplyDefaults()
	return cfg
}

// newEnv starts a provider on store with two users.
func newEnv(t *testing.T, store storage.Storage, mutate ...func(*config.Config)) *env {
	t.Helper()
	return newEnvSMTP(t, store, nil, mutate...)
}

// newEnvSMTP is newEnv with mail going to the test SMTP server smtp
// (nil: none), trusted for STARTTLS, with short outbox intervals.
func newEnvSMTP(t *testing.T, store storage.Storage, smtp *mailtest.Server, mutate ...func(*config.Config)) *env {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	cfg := testConfig(issuer)
	for _, m := range mutate {
		m(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	if smtp != nil {
		sc := smtp.SenderConfig()
		cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.Security = sc.Host, sc.Port, sc.Security
		cfg.SMTP.Username, cfg.SMTP.Password, cfg.SMTP.From = sc.Username, sc.Password, "Example Login <login@example.com>"
		cfg.SMTP.RetryDelay, cfg.SMTP.PollInterval = config.Duration(100*time.Millisecond), config.Duration(50*time.Millisecond)
		cfg.Reset.ResponseFloor = config.Duration(50 * time.Millisecond)
	}
	e := &env{t: t, store: store, ts: ts, cfg: cfg, clock: &clock{}, logs: &logSink{}}
	if smtp != nil {
		e.smtpTLS = smtp.SenderConfig().TLSConfig
	}
	e.start()
	e.user = e.addUser("alice@example.com", "Alice", userPass)
	e.other = e.addUser("bob@example.com", "Bob", otherPass)
	return e
}

func (e *env) start() {
	e.t.Helper()
	log := slog.New(e.logs)
	srv, err := server.New(e.t.Context(), server.Options{Config: e.cfg, Store: e.store, Logger: log, Now: e.clock.now, SMTPTLS: e.smtpTLS})
	if err != nil {
		e.t.Fatalf("server.New: %v", err)
	}
	e.srv = srv
	e.ts.Config.Handler = srv.Handler()
	e.ts.Start()
	e.t.Cleanup(e.ts.Close)
}

// run starts the server's background workers (logout deliveries, expiry
// sweeps) until the test ends.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.Run(ctx)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// openPostgres opens (and migrates) another connection pool on the
// database dsn, as a second replica would.
func openPostgres(t *testing.T, dsn string) *gormstore.Store {
	t.Helper()
	st, err := gormstore.Open(t.Context(), gormstore.Config{Driver: "postgres", DSN: dsn, MaxOpenConns: gormstoretest.TestPoolSize})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// second starts another provider instance on the same database.
func (e *env) second(store storage.Storage) *env {
	e.t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	cfg := *e.cfg
	cfg.Issuer = e.cfg.Issuer // one issuer: both are replicas behind one name
	e2 := &env{t: e.t, store: store, ts: ts, cfg: &cfg, user: e.user, other: e.other, clock: e.clock, smtpTLS: e.smtpTLS, logs: e.logs}
	e2.start()
	return e2
}

func (e *env) addUser(email, name, pw string) storage.User {
	e.t.Helper()
	h := password.New(password.Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 2)
	hash, err := h.Hash(e.t.Context(), pw)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now().UTC()
	u := storage.User{ID: uuid.NewString(), Email: email, Name: name, EmailVerified: true, PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// clock is the server's time: the wall clock plus an offset tests move.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type nonceKey struct{}

// rp returns a relying party for a configured client.
func (e *env) rp(clientID, secret, redirect string, scopes ...string) rp.RelyingParty {
	e.t.Helper()
	opts := []rp.Option{rp.WithHTTPClient(httpClient), rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string {
		n, _ := ctx.Value(nonceKey{}).(string)
		return n
	}))}
	r, err := rp.NewRelyingPartyOIDC(e.t.Context(), e.cfg.Issuer, clientID, secret, redirect, scopes, opts...)
	if err != nil {
		e.t.Fatalf("rp: %v", err)
	}
	return r
}

// browser is a user agent with cookies that stops at client redirects.
type browser struct {
	t *testing.T
	c *http.Client
	e *env
	// ua, when set, is the User-Agent header the browser sends.
	ua string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	host := e.ts.Listener.Addr().String()
	c := &http.Client{Jar: jar, Timeout: clientTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != host {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	return &browser{t: e.t, c: c, e: e}
}

// page is a fetched response with its body.
type page struct {
	status int
	url    *url.URL
	header http.Header
	body   string
	doc    *html.Node
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	p, err := b.send(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return p
}

// send is do for the goroutines of a concurrent test: it returns the
// error instead of ending the test.
func (b *browser) send(req *http.Request) (page, error) {
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return page{}, err
	}
	p := page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		p.doc, _ = html.Parse(strings.NewReader(p.body))
	}
	return p, nil
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values, origin string) page {
	b.t.Helper()
	return b.do(b.postRequest(u, form, origin))
}

// postRequest is a form POST to u sent from a page of origin.
func (b *browser) postRequest(u string, form url.Values, origin string) *http.Request {
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
		site := "cross-site"
		if origin == b.e.cfg.Issuer {
			site = "same-origin"
		}
		req.Header.Set("Sec-Fetch-Site", site)
	}
	return req
}

// location is the redirect target of a 3xx page.
func (p page) location(t *testing.T) *url.URL {
	t.Helper()
	if p.status < 300 || p.status > 399 {
		t.Fatalf("status %d at %s, want a redirect; body: %.300s", p.status, p.url, p.body)
	}
	u, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// authz is one authorization request.
type authz struct {
	clientID, redirect, scope, state, nonce, verifier string
	extra                                             url.Values
}

func newAuthz(clientID, redirect, scope string) *authz {
	return &authz{clientID: clientID, redirect: redirect, scope: scope, state: rand.Text(), nonce: rand.Text(),
		verifier: rand.Text() + rand.Text(), extra: url.Values{}}
}

func (a *authz) url(issuer string) string {
	sum := sha256.Sum256([]byte(a.verifier))
	q := url.Values{"client_id": {a.clientID}, "redirect_uri": {a.redirect}, "response_type": {"code"},
		"scope": {a.scope}, "state": {a.state}, "nonce": {a.nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	for k, v := range a.extra {
		q[k] = v
	}
	return issuer + "/authorize?" + q.Encode()
}

// formInputs returns name → value of the inputs of the first form whose
// action is action, and the input elements' attributes.
func formInputs(t *testing.T, doc *html.Node, action string) (map[string]string, []map[string]string) {
	t.Helper()
	forms := htmltest.Find(doc, isForm(action))
	if len(forms) == 0 {
		t.Fatalf("no form with action %q", action)
	}
	values := map[string]string{}
	var inputs []map[string]string
	for _, n := range htmltest.Find(forms[0], func(n *html.Node) bool {
		return htmltest.IsTag(n, "input") || htmltest.IsTag(n, "button")
	}) {
		m := map[string]string{"tag": n.Data}
		for _, a := range n.Attr {
			m[a.Key] = a.Val
		}
		inputs = append(inputs, m)
		if n.Data == "input" && m["name"] != "" {
			values[m["name"]] = m["value"]
		}
	}
	return values, inputs
}

// hasLoginForm reports whether p is the sign-in page.
func (p page) hasLoginForm() bool { return p.hasForm("/login") }

// hasForm reports whether p has a form posting to action.
func (p page) hasForm(action string) bool {
	return p.doc != nil && len(htmltest.Find(p.doc, isForm(action))) > 0
}

func isForm(action string) func(*html.Node) bool {
	return func(n *html.Node) bool { return htmltest.IsTag(n, "form") && htmltest.Attr(n, "action") == action }
}

// signIn submits the login form on p and returns the response.
func (b *browser) signIn(p page, email, pw string) page {
	b.t.Helper()
	if !p.hasLoginForm() {
		b.t.Fatalf("no login form (status %d at %s): %.300s", p.status, p.url, p.body)
	}
	vals, _ := formInputs(b.t, p.doc, "/login")
	form := url.Values{"id": {vals["id"]}, "email": {email}, "password": {pw}}
	return b.post(b.e.cfg.Issuer+"/login", form, b.e.cfg.Issuer)
}

// code checks the authorization response and returns its code.
func (e *env) code(t *testing.T, p page, a *authz) string {
	t.Helper()
	loc := p.location(t)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != a.redirect {
		t.Fatalf("redirected to %s, want %s", got, a.redirect)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		t.Fatalf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != a.state {
		t.Errorf("state = %q, want %q", q.Get("state"), a.state)
	}
	if q.Get("iss") != e.cfg.Issuer {
		t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), e.cfg.Issuer)
	}
	if q.Get("code") == "" {
		t.Fatal("no code in the authorization response")
	}
	return q.Get("code")
}

// exchange redeems a code through the relying party (ID token verified
// against the JWKS: signature, iss, aud, exp, nonce).
func (e *env) exchange(t *testing.T, r rp.RelyingParty, code string, a *authz) (*oidc.Tokens[*oidc.IDTokenClaims], error) {
	t.Helper()
	ctx := context.WithValue(t.Context(), nonceKey{}, a.nonce)
	return rp.CodeExchange[*oidc.IDTokenClaims](ctx, code, r, rp.WithCodeVerifier(a.verifier))
}

// tokenPost calls the token endpoint directly and decodes the JSON answer.
func (e *env) tokenPost(t *testing.T, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	return e.postJSON(t, "/oauth/token", user, pass, form)
}

func (e *env) postJSON(t *testing.T, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	return e.postTo(t, e.cfg.Issuer, path, user, pass, form)
}

// postTo posts to a given base URL (a replica) instead of the issuer.
func (e *env) postTo(t *testing.T, base, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, m
}

// introspect reports whether token is active, asked by the resource
// server rs (which may introspect every client's tokens).
func (e *env) introspect(t *testing.T, token string) bool {
	t.Helper()
	return e.introspectAt(t, e.cfg.Issuer, token)
}

func (e *env) introspectAt(t *testing.T, base, token string) bool {
	t.Helper()
	status, m := e.postTo(t, base, "/oauth/introspect", "rs", rsSecret, url.Values{"token": {token}})
	if status != http.StatusOK {
		t.Fatalf("introspection status %d: %v", status, m)
	}
	active, _ := m["active"].(bool)
	return active
}

// signInFresh runs a full sign-in for client web as alice and returns the
// tokens.
func (e *env) signInFresh(t *testing.T, b *browser, scope string) (*oidc.Tokens[*oidc.IDTokenClaims], *authz) {
	t.Helper()
	return e.signInScoped(t, b, e.user.Email, userPass, scope)
}

// signInFreshAs runs a full sign-in for client web as another user, with
// a refresh token (offline_access).
func (e *env) signInFreshAs(t *testing.T, b *browser, email, pw string) (*oidc.Tokens[*oidc.IDTokenClaims], *authz) {
	t.Helper()
	return e.signInScoped(t, b, email, pw, "openid offline_access")
}

func (e *env) signInScoped(t *testing.T, b *browser, email, pw, scope string) (*oidc.Tokens[*oidc.IDTokenClaims], *authz) {
	t.Helper()
	a := newAuthz("web", webCB, scope)
	p := b.signIn(b.get(a.url(e.cfg.Issuer)), email, pw)
	tok, err := e.exchange(t, e.rp("web", webSecret, webCB, strings.Fields(scope)...), e.code(t, p, a), a)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok, a
}
