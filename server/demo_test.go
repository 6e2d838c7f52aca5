package server

import (
	"encoding/base64"
	"encoding/json"
	"github.com/sekisho/sekisho/htmltest"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// demoEnv is a --dev server behind an httptest server whose URL is the
// issuer, so that the demo's back-channel calls reach it.
type demoEnv struct {
	ts  *httptest.Server
	cfg *config.Config
	st  storage.Storage
	// discoveryDown makes the discovery document answer 503.
	discoveryDown atomic.Bool
	jar           *cookiejar.Jar
	client        *http.Client // follows redirects
	noFollow      *http.Client // same jar, stops at the first response
}

func newDemoEnv(t *testing.T) *demoEnv {
	t.Helper()
	ctx := t.Context()
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	base := "http://" + ts.Listener.Addr().String()

	cfg := config.Dev()
	cfg.Issuer = base
	// The store comes from gormstoretest; server.New does not read this.
	cfg.Database = config.Database{Driver: config.DriverSQLite, DSN: filepath.Join(t.TempDir(), "sekisho.db")}
	cfg.Clients[0].RedirectURIs = []string{base + "/demo/callback"}
	cfg.Clients[0].PostLogoutRedirectURIs = []string{base + "/demo/"}
	cfg.Password = config.Password{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	st := gormstoretest.NewSQLite(t)
	if err := EnsureDemo(ctx, cfg, st); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := New(ctx, Options{Config: cfg, Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e := &demoEnv{ts: ts, cfg: cfg, st: st}
	h := srv.Handler()
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.discoveryDown.Load() && r.URL.Path == "/.well-known/openid-configuration" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
	ts.Start()
	if ts.URL != base {
		t.Fatalf("server URL %s, want %s", ts.URL, base)
	}
	e.jar, _ = cookiejar.New(nil)
	e.client = &http.Client{Jar: e.jar, Timeout: 2 * time.Minute}
	e.noFollow = &http.Client{Jar: e.jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// do sends a request; a POST carries form and the browser's Origin.
func (e *demoEnv) do(t *testing.T, c *http.Client, method, path string, form url.Values) (*http.Response, *html.Node) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.ts.URL)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: parse: %v", method, path, err)
	}
	return resp, doc
}

// demoView is what the demo page shows.
type demoView struct {
	signedIn bool // has the refresh and sign-out forms
	intro    bool // has the sign-in form
	claims   map[string]string
	raw      string
	alert    string
}

func readDemo(doc *html.Node) demoView {
	v := demoView{claims: map[string]string{}}
	var dt string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "form":
			switch htmltest.Attr(n, "action") {
			case "/demo/logout":
				v.signedIn = true
			case "/demo/login":
				v.intro = true
			}
		case "dt":
			dt = htmltest.Text(n)
		case "dd":
			v.claims[dt] = htmltest.Text(n)
		case "pre":
			v.raw = htmltest.Text(n)
		case "p":
			if htmltest.Attr(n, "role") == "alert" {
				v.alert = htmltest.Text(n)
			}
		}
	}
	return v
}

// loginFormID returns the auth request id of the sign-in form, or "".
func loginFormID(doc *html.Node) string {
	for _, n := range htmltest.Find(doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "input") && htmltest.Attr(n, "name") == "id"
	}) {
		return htmltest.Attr(n, "value")
	}
	return ""
}

func (e *demoEnv) demoCookie() *http.Cookie {
	u, _ := url.Parse(e.ts.URL + "/demo/")
	for _, c := range e.jar.Cookies(u) {
		if c.Name == demoSessionCookie {
			return c
		}
	}
	return nil
}

// signIn clicks "Sign in" on the demo and submits the password form as
// the demo user.
func (e *demoEnv) signIn(t *testing.T) demoView {
	t.Helper()
	return e.signInAs(t, config.DevUserEmail, config.DevUserPassword)
}

// signInAs signs in on the demo with an address and password.
func (e *demoEnv) signInAs(t *testing.T, email, password string) demoView {
	t.Helper()
	resp, doc := e.do(t, e.client, http.MethodGet, "/demo/login", nil)
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("GET /demo/login ended at %s (%d), want the sign-in form", resp.Request.URL, resp.StatusCode)
	}
	id := loginFormID(doc)
	if id == "" {
		t.Fatal("sign-in form has no auth request id")
	}
	resp, doc = e.do(t, e.client, http.MethodPost, "/login",
		url.Values{"id": {id}, "email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/demo/" {
		t.Fatalf("POST /login ended at %s (%d), want /demo/", resp.Request.URL, resp.StatusCode)
	}
	return readDemo(doc)
}

func TestDemoSignInRefreshSignOut(t *testing.T) {
	e := newDemoEnv(t)

	resp, doc := e.do(t, e.client, http.MethodGet, "/demo/", nil)
	if v := readDemo(doc); resp.StatusCode != http.StatusOK || !v.intro || v.signedIn {
		t.Fatalf("GET /demo/ before sign-in: status %d, view %+v; want the intro", resp.StatusCode, v)
	}

	v := e.signIn(t)
	if !v.signedIn || v.alert != "" {
		t.Fatalf("after sign-in: view %+v; want the signed-in view", v)
	}
	if v.claims["email"] != config.DevUserEmail || v.claims["amr"] != "pwd" || v.claims["email_verified"] != "true" ||
		v.claims["name"] != "Demo User" || v.claims["iss"] != e.ts.URL || v.claims["aud"] != config.DevClientID ||
		v.claims["sub"] == "" || v.claims["sid"] == "" {
		t.Errorf("claims = %v", v.claims)
	}
	if at, err := time.Parse(time.RFC3339, v.claims["auth_time"]); err != nil || time.Since(at) > time.Minute {
		t.Errorf("auth_time = %q (%v), want a recent RFC 3339 time", v.claims["auth_time"], err)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(v.raw), &raw); err != nil || raw["email"] != config.DevUserEmail || raw["nonce"] == "" {
		t.Errorf("raw claims JSON %q: %v", v.raw, err)
	}
	if !strings.Contains(v.raw, "\n  \"") {
		t.Errorf("raw claims JSON is not indented: %q", v.raw)
	}
	c := e.demoCookie()
	if c == nil {
		t.Fatal("no demo session cookie after sign-in")
	}
	if n := len(c.Name) + 1 + len(c.Value); n >= 4096 {
		t.Errorf("demo session cookie is %d bytes, want under 4096", n)
	}
	if strings.Contains(c.Value, "eyJ") {
		t.Error("demo session cookie shows a JWT: it should be encrypted")
	}
	sub, sid := v.claims["sub"], v.claims["sid"]

	// Refresh twice: refresh tokens rotate and a reused one revokes the
	// family, so the second refresh only works if the first one kept the
	// new refresh token.
	for i := range 2 {
		resp, _ := e.do(t, e.noFollow, http.MethodPost, "/demo/refresh", url.Values{})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/demo/" {
			t.Fatalf("refresh %d: status %d, Location %q; want 303 to /demo/", i, resp.StatusCode, resp.Header.Get("Location"))
		}
		_, doc := e.do(t, e.client, http.MethodGet, "/demo/", nil)
		v := readDemo(doc)
		if !v.signedIn || v.alert != "" || v.claims["sub"] != sub || v.claims["sid"] != sid ||
			v.claims["email"] != config.DevUserEmail || v.claims["amr"] != "pwd" {
			t.Fatalf("after refresh %d: view %+v", i, v)
		}
	}

	// Sign out: through end_session (the id_token_hint matches the SSO
	// session, so no confirmation) and back to the intro.
	resp, _ = e.do(t, e.noFollow, http.MethodPost, "/demo/logout", url.Values{})
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/end_session" {
		t.Fatalf("POST /demo/logout: status %d, Location %q; want 303 to /end_session", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("id_token_hint") == "" || q.Get("client_id") != config.DevClientID ||
		q.Get("post_logout_redirect_uri") != e.ts.URL+"/demo/" || q.Get("state") == "" {
		t.Errorf("end_session parameters %v", q)
	}
	if e.demoCookie() != nil {
		t.Error("demo session cookie still set after sign-out")
	}
	resp, doc = e.do(t, e.client, http.MethodGet, loc.RequestURI(), nil)
	if v := readDemo(doc); resp.Request.URL.Path != "/demo/" || !v.intro || v.signedIn || v.alert != "" {
		t.Fatalf("end_session ended at %s with view %+v; want the demo intro", resp.Request.URL, v)
	}
	if resp.Request.URL.Query().Get("state") != q.Get("state") {
		t.Errorf("back at %s, want state %q", resp.Request.URL, q.Get("state"))
	}

	// The SSO session has ended: signing in again asks for the password.
	resp, _ = e.do(t, e.client, http.MethodGet, "/demo/login", nil)
	if resp.Request.URL.Path != "/login" {
		t.Errorf("GET /demo/login after sign-out ended at %s, want the sign-in form", resp.Request.URL)
	}
}

func TestDemoCallbackErrors(t *testing.T) {
	e := newDemoEnv(t)

	// An error response of the authorization endpoint, for our state.
	resp, _ := e.do(t, e.noFollow, http.MethodGet, "/demo/login", nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Path != "/authorize" {
		t.Fatalf("GET /demo/login: status %d, Location %q; want 302 to /authorize", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" ||
		q.Get("state") == "" || q.Get("client_id") != config.DevClientID || q.Get("redirect_uri") != e.ts.URL+"/demo/callback" {
		t.Errorf("authorize parameters %v", q)
	}
	_, doc := e.do(t, e.client, http.MethodGet, "/demo/callback?"+url.Values{"state": {q.Get("state")},
		"error": {"login_required"}, "error_description": {"<script>secret detail</script>"}}.Encode(), nil)
	v := readDemo(doc)
	if !v.intro || v.signedIn || !strings.Contains(v.alert, "login_required") || strings.Contains(v.alert, "secret") {
		t.Errorf("callback with error=login_required: view %+v", v)
	}

	// A forged callback (no state cookie any more) fails without details.
	_, doc = e.do(t, e.client, http.MethodGet, "/demo/callback?code=forged&state=forged", nil)
	v = readDemo(doc)
	if !v.intro || v.signedIn || v.alert != "Sign-in failed. Please try again." {
		t.Errorf("forged callback: view %+v", v)
	}
	if e.demoCookie() != nil {
		t.Error("forged callback set a demo session")
	}

	// Refresh and sign-out without a demo session go back to the intro.
	for _, p := range []string{"/demo/refresh", "/demo/logout"} {
		resp, doc := e.do(t, e.client, http.MethodPost, p, url.Values{})
		if v := readDemo(doc); resp.Request.URL.Path != "/demo/" || !v.intro || v.alert != "" {
			t.Errorf("POST %s signed out: ended at %s, view %+v", p, resp.Request.URL, v)
		}
	}
}

func TestDemoDiscoveryRetried(t *testing.T) {
	e := newDemoEnv(t)
	e.discoveryDown.Store(true)
	resp, doc := e.do(t, e.noFollow, http.MethodGet, "/demo/login", nil)
	v := readDemo(doc)
	if resp.StatusCode != http.StatusOK || !v.intro || !strings.Contains(v.alert, "could not reach the provider") {
		t.Fatalf("GET /demo/login with discovery down: status %d, view %+v", resp.StatusCode, v)
	}
	if strings.Contains(v.alert, "503") || strings.Contains(v.alert, "down") {
		t.Errorf("error shows internal details: %q", v.alert)
	}

	e.discoveryDown.Store(false)
	v = e.signIn(t)
	if !v.signedIn || v.claims["email"] != config.DevUserEmail {
		t.Fatalf("sign-in after discovery came back: view %+v", v)
	}
}

func TestDemoSessionCookieFits(t *testing.T) {
	d := &demoApp{cookies: httphelper.NewCookieHandler([]byte(strings.Repeat("h", 32)), []byte(strings.Repeat("e", 32)),
		httphelper.WithPath("/demo/"), httphelper.WithUnsecure())}
	enc := base64.RawURLEncoding.EncodeToString
	payload := `{"sub":"u1","name":"` + strings.Repeat("n", 1200) + `"}`
	idToken := enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("sig"))
	for _, claims := range []string{`{"sub":"u1"}`, payload} {
		rec := httptest.NewRecorder()
		if err := d.setSession(rec, &demoSession{IDToken: idToken, RefreshToken: "rt", Claims: json.RawMessage(claims)}); err != nil {
			t.Fatalf("setSession: %v", err)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 || len(cookies[0].Name)+1+len(cookies[0].Value) > demoMaxCookie {
			t.Fatalf("cookies %v", cookies)
		}
		req := httptest.NewRequest(http.MethodGet, "/demo/", nil)
		req.AddCookie(cookies[0])
		s := d.session(req)
		if s == nil || s.IDToken != idToken || s.RefreshToken != "rt" || string(s.Claims) != claims {
			t.Errorf("session = %+v, want claims %s", s, claims)
		}
	}
}

// TestDevMailShowsTheCode: under --dev without SMTP, a newcomer asking
// for a password reset finds the code on /dev/mail.
func TestDevMailShowsTheCode(t *testing.T) {
	e := newDemoEnv(t)
	resp, doc := e.do(t, e.client, http.MethodGet, "/demo/login", nil)
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("GET /demo/login ended at %s", resp.Request.URL)
	}
	resp, _ = e.do(t, e.client, http.MethodPost, "/reset", url.Values{"id": {loginFormID(doc)}, "email": {config.DevUserEmail}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /reset: status %d", resp.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := e.client.Get(e.ts.URL + "/dev/mail")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && mailtest.Code(string(body)) != "" && strings.Contains(string(body), config.DevUserEmail) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/dev/mail (status %d) shows no code: %.600s", resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDemoOrganization: --dev's demo organization holds its
// administrator in the highest role and the demo user in the lowest,
// once however often the server starts, and the administrator signs in.
func TestDemoOrganization(t *testing.T) {
	e := newDemoEnv(t)
	ctx := t.Context()
	if err := EnsureDemo(ctx, e.cfg, e.st); err != nil { // a second start
		t.Fatal(err)
	}
	org, err := e.st.GetOrganizationByCode(ctx, config.DevOrgCode)
	if err != nil {
		t.Fatal(err)
	}
	if org.Name != config.DevOrgName || org.TimeZone != "Asia/Tokyo" {
		t.Errorf("demo organization = %+v", org)
	}
	orgs, err := e.st.ListOrganizations(ctx)
	if err != nil || len(orgs) != 2 {
		t.Errorf("organizations after two starts: %d, %v; want default and demo", len(orgs), err)
	}
	p, err := e.st.ListMembers(ctx, storage.MemberFilter{OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range p.Members {
		got[m.Username] = m.Email + " " + m.Role + " " + m.EmailState + " " + m.Status
	}
	want := map[string]string{
		config.DevAdminUsername: config.DevAdminEmail + " owner registered active",
		config.DevUserUsername:  config.DevUserEmail + " staff registered active",
	}
	if d := cmp.Diff(want, got); d != "" || p.Total != 2 {
		t.Errorf("demo members (-want +got):\n%s(total %d)", d, p.Total)
	}
	v := e.signInAs(t, config.DevAdminEmail, config.DevAdminPassword)
	if !v.signedIn || v.claims["email"] != config.DevAdminEmail || v.claims["name"] != config.DevAdminName {
		t.Errorf("the demo administrator's sign-in: view %+v", v)
	}
}

// TestDemoKeepsAnEarlierDemoUser: a database from before organizations
// keeps its demo user where it is and gets the organization and its
// administrator.
func TestDemoKeepsAnEarlierDemoUser(t *testing.T) {
	ctx := t.Context()
	st := gormstoretest.NewSQLite(t)
	cfg := config.Dev()
	cfg.Password = config.Password{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}
	now := time.Now().UTC()
	old := storage.User{ID: uuid.NewString(), Email: config.DevUserEmail, EmailVerified: true, Name: "Demo User",
		PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDemo(ctx, cfg, st); err != nil {
		t.Fatal(err)
	}
	if u, err := st.GetUserByEmail(ctx, config.DevUserEmail); err != nil || u.ID != old.ID ||
		u.OrganizationID != storage.DefaultOrganizationID {
		t.Errorf("the earlier demo user: %+v, %v", u, err)
	}
	org, err := st.GetOrganizationByCode(ctx, config.DevOrgCode)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := st.GetMemberByEmail(ctx, org.ID, config.DevAdminEmail); err != nil || u.Role != "owner" {
		t.Errorf("the demo administrator: %+v, %v", u, err)
	}
}

// TestDevLandingAndRestart: under --dev the landing page links to the demo
// application, and the demo client's initiate_login_uri (where an expired
// sign-in starts again) starts a new sign-in.
func TestDevLandingAndRestart(t *testing.T) {
	e := newDemoEnv(t)
	resp, doc := e.do(t, e.client, http.MethodGet, "/?lang=ja", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/: %d", resp.StatusCode)
	}
	links := map[string]bool{}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			for _, a := range n.Attr {
				if a.Key == "href" {
					links[a.Val] = true
				}
			}
		}
	}
	if !links["/demo/"] || !links["/account"] {
		t.Errorf("the dev landing page links to %v, want /demo/ and /account", links)
	}
	cl, _ := e.cfg.Client(config.DevClientID)
	if cl.InitiateLoginURI != config.DevIssuer+"/demo/login" {
		t.Errorf("the demo client's initiate_login_uri = %q", cl.InitiateLoginURI)
	}
	resp, _ = e.do(t, e.noFollow, http.MethodGet, "/demo/login?iss="+url.QueryEscape(e.ts.URL), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/authorize?") {
		t.Errorf("the demo's sign-in start: %d → %q", resp.StatusCode, loc)
	}
}
