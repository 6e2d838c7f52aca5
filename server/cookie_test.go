package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/login"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

const (
	cookieUserEmail = "ann@example.com"
	cookieUserPass  = "Correct-horse-9!"
)

// cookieEnv is a server with one user, on a store the test can seed
// sessions in.
type cookieEnv struct {
	*testServer
	store storage.Storage
	keys  *secret.Keys
	user  storage.User
}

func newCookieEnv(t *testing.T, issuer string) *cookieEnv {
	t.Helper()
	st := gormstoretest.NewSQLite(t)
	s := newTestServer(t, issuer, st, nil)
	keys, err := secret.Parse(s.srv.cfg.Secret)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := password.New(password.Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 1).Hash(t.Context(), cookieUserPass)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	u := storage.User{ID: uuid.NewString(), Email: cookieUserEmail, EmailVerified: true, Name: "Ann", PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return &cookieEnv{testServer: s, store: st, keys: keys, user: u}
}

// session stores a session of the user whose cookie value is token.
func (e *cookieEnv) session(t *testing.T, token string, oldName bool, ended bool) storage.Session {
	t.Helper()
	now := time.Now().UTC()
	s := storage.Session{ID: uuid.NewString(), TokenHash: e.keys.Hash(secret.KindSession, token), UserID: e.user.ID,
		AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(2 * time.Hour), OldCookieName: oldName}
	if ended {
		s.EndedAt = &now
	}
	if err := e.store.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// get requests path with the given cookies and no redirects followed.
func (e *cookieEnv) get(t *testing.T, path string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.ts.URL+path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

var noRedirects = &http.Client{Timeout: 2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// setCookies indexes a response's Set-Cookie headers by name.
func setCookies(resp *http.Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		out[c.Name] = c
	}
	return out
}

// signedIn reports whether the account page answered for the user, not
// the sign-in.
func signedIn(resp *http.Response) bool { return resp.StatusCode == http.StatusOK }

// Under https the session cookie is __Host-sekisho_session; a browser that
// still carries sekisho_session from before the upgrade stays signed in
// and is moved to the new name; an old-name cookie of a session begun
// after the upgrade (one an attacker could have planted) is ignored.
func TestSessionCookieUnderHTTPS(t *testing.T) {
	e := newCookieEnv(t, "https://login.example.com")

	t.Run("sign-in sets the __Host- cookie", func(t *testing.T) {
		resp := e.get(t, "/account")
		loginURL, err := resp.Location()
		if err != nil || !strings.HasPrefix(loginURL.Path, "/login") {
			t.Fatalf("GET /account signed out: %d %v", resp.StatusCode, err)
		}
		form := url.Values{"id": {loginURL.Query().Get("id")}, "email": {cookieUserEmail}, "password": {cookieUserPass}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.ts.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err = noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		raw := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
		c := setCookies(resp)[login.HostSessionCookie]
		if c == nil || c.Value == "" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" ||
			c.SameSite != http.SameSiteNoneMode || strings.Contains(strings.ToLower(raw), "domain=") {
			t.Fatalf("sign-in cookies:\n%s\nwant %s with Secure, HttpOnly, Path=/, SameSite=None and no Domain", raw, login.HostSessionCookie)
		}
		if _, ok := setCookies(resp)[login.SessionCookie]; ok {
			t.Errorf("sign-in also set %s:\n%s", login.SessionCookie, raw)
		}
		if resp := e.get(t, "/account", c); !signedIn(resp) {
			t.Errorf("the new cookie does not sign in: %d", resp.StatusCode)
		}
	})

	t.Run("old name of a session from before the upgrade", func(t *testing.T) {
		sess := e.session(t, "old-token", true, false)
		resp := e.get(t, "/account", &http.Cookie{Name: login.SessionCookie, Value: "old-token"})
		if !signedIn(resp) {
			t.Fatalf("signed out by the upgrade: %d", resp.StatusCode)
		}
		got := setCookies(resp)
		c := got[login.HostSessionCookie]
		if c == nil || c.Value != "old-token" || !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly ||
			!c.Expires.Equal(sess.AbsoluteExpiresAt.Truncate(time.Second)) {
			t.Errorf("new cookie = %+v, want the same value until the session's absolute end", c)
		}
		if old := got[login.SessionCookie]; old == nil || old.MaxAge >= 0 || !old.Secure || old.Path != "/" {
			t.Errorf("old cookie not cleared: %+v", old)
		}
		// The browser now sends the new name only.
		resp = e.get(t, "/account", &http.Cookie{Name: login.HostSessionCookie, Value: "old-token"})
		if !signedIn(resp) || len(setCookies(resp)) != 0 {
			t.Errorf("with the new cookie: %d, set %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	})

	for _, tc := range []struct {
		name           string
		oldName, ended bool
	}{
		{"old name of a session begun after the upgrade", false, false},
		{"old name of an ended session", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := "token-" + uuid.NewString()
			e.session(t, token, tc.oldName, tc.ended)
			resp := e.get(t, "/account", &http.Cookie{Name: login.SessionCookie, Value: token})
			if signedIn(resp) {
				t.Fatal("an old-name cookie signed in")
			}
			got := setCookies(resp)
			if c := got[login.HostSessionCookie]; c != nil {
				t.Errorf("moved to the new name: %+v", c)
			}
			if old := got[login.SessionCookie]; old == nil || old.MaxAge >= 0 {
				t.Errorf("old cookie not cleared: %+v", old)
			}
		})
	}
}

// Under plain http (development) the cookie keeps its name.
func TestSessionCookieUnderHTTP(t *testing.T) {
	e := newCookieEnv(t, "http://127.0.0.1:8080")
	e.session(t, "http-token", false, false)
	resp := e.get(t, "/account", &http.Cookie{Name: login.SessionCookie, Value: "http-token"})
	if !signedIn(resp) || len(setCookies(resp)) != 0 {
		t.Errorf("%s under http: %d, set %v", login.SessionCookie, resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	if resp := e.get(t, "/account", &http.Cookie{Name: login.HostSessionCookie, Value: "http-token"}); signedIn(resp) {
		t.Errorf("%s is read under http", login.HostSessionCookie)
	}
}

// The step cookie that binds a sign-in's or reset's steps to the browser
// is HttpOnly, SameSite=Lax, short-lived, and a __Host- cookie under
// https. A reset sets it whether or not the account exists.
func TestStepCookie(t *testing.T) {
	for _, tc := range []struct {
		issuer, name string
		secure       bool
	}{
		{"https://login.example.com", login.HostStepCookie, true},
		{"http://127.0.0.1:8080", login.StepCookie, false},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			e := newCookieEnv(t, tc.issuer)
			for _, email := range []string{cookieUserEmail, "nobody@example.com"} {
				loginURL, err := e.get(t, "/account").Location()
				if err != nil {
					t.Fatal(err)
				}
				form := url.Values{"id": {loginURL.Query().Get("id")}, "email": {email}}
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.ts.URL+"/reset", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				resp, err := noRedirects.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				c := setCookies(resp)[tc.name]
				if resp.StatusCode != http.StatusOK || c == nil || len(c.Value) < 32 || !c.HttpOnly || c.Secure != tc.secure ||
					c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" ||
					c.MaxAge != int(config.DefaultAuthRequestLifetime/time.Second) {
					t.Errorf("reset for %s: %d, cookies %v; want %s, HttpOnly, SameSite=Lax, Path=/, Max-Age %v, Secure %v",
						email, resp.StatusCode, resp.Header.Values("Set-Cookie"), tc.name, config.DefaultAuthRequestLifetime, tc.secure)
				}
			}
		})
	}
}
