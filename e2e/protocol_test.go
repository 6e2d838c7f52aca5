package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// rawResponse is an answer read without following redirects.
type rawResponse struct {
	status int
	header http.Header
	body   string
}

// send sends req without cookies or redirects.
func send(t *testing.T, req *http.Request) rawResponse {
	t.Helper()
	c := &http.Client{Timeout: clientTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (r rawResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("status %d, body is not JSON: %.200s", r.status, r.body)
	}
	return m
}

// request builds a request to the issuer; a form body when form is set.
func (e *env) request(t *testing.T, method, path string, form url.Values) *http.Request {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.cfg.Issuer+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

// noErrorLogs fails when the server logged at ERROR level (bad input
// that reached the database, a crash in a handler).
func (e *env) noErrorLogs(t *testing.T) {
	t.Helper()
	if errs := e.logs.errors(); len(errs) > 0 {
		t.Errorf("the server logged errors: %q", errs)
	}
}

// TestProtocolAnswers: the exact OAuth answers of the token, userinfo,
// introspection, revocation and authorization endpoints.
func TestProtocolAnswers(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t))
		t.Run("redirect_uri is compared as the registered string", func(t *testing.T) {
			for _, uri := range []string{
				"http://127.0.0.1/web/%63allback", // %63 is "c"
				"http%3A//127.0.0.1/web/callback",
				"http://127.0.0.1/web/callback/",
				"http://127.0.0.1:80/web/callback",
				"HTTP://127.0.0.1/web/callback",
			} {
				a := newAuthz("web", uri, "openid")
				r := send(t, e.request(t, http.MethodGet, "/authorize?"+strings.SplitN(a.url(e.cfg.Issuer), "?", 2)[1], nil))
				if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
					t.Errorf("redirect_uri %q: %d, Location %q; want a 400 page", uri, r.status, r.header.Get("Location"))
				}
			}
		})
		t.Run("authorize errors go back with state and iss, encoded once", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				set   url.Values
				add   url.Values
				error string
			}{
				{"response_type token", url.Values{"response_type": {"token"}}, nil, "unsupported_response_type"},
				{"response_type id_token", url.Values{"response_type": {"id_token"}}, nil, "unsupported_response_type"},
				{"request_uri", url.Values{"request_uri": {"urn:example:req"}}, nil, "request_uri_not_supported"},
				{"request", url.Values{"request": {"eyJhbGciOiJub25lIn0.e30."}}, nil, "request_not_supported"},
				{"repeated scope", nil, url.Values{"scope": {"email"}}, "invalid_request"},
				{"repeated state", nil, url.Values{"state": {"other"}}, "invalid_request"},
				{"short code_challenge", url.Values{"code_challenge": {"abc"}}, nil, "invalid_request"},
				{"code_challenge with a space", url.Values{"code_challenge": {strings.Repeat("a", 42) + " "}}, nil, "invalid_request"},
				{"response_mode fragment", url.Values{"response_mode": {"fragment"}}, nil, "invalid_request"},
				{"response_mode form_post", url.Values{"response_mode": {"form_post"}}, nil, "invalid_request"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					a := newAuthz("web", webCB, "openid")
					a.state = "s/1 +&=é"
					u, _ := url.Parse(a.url(e.cfg.Issuer))
					q := u.Query()
					for k, v := range tc.set {
						q[k] = v
					}
					for k, v := range tc.add {
						q[k] = append(q[k], v...)
					}
					r := send(t, e.request(t, http.MethodGet, "/authorize?"+q.Encode(), nil))
					if r.status != http.StatusFound {
						t.Fatalf("status %d, want 302; body %.200s", r.status, r.body)
					}
					raw := r.header.Get("Location")
					loc, err := url.Parse(raw)
					if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != webCB {
						t.Fatalf("redirected to %q", raw)
					}
					got := loc.Query()
					if got.Get("error") != tc.error || len(got["state"]) > 1 || len(got["iss"]) != 1 || got.Get("iss") != e.cfg.Issuer {
						t.Errorf("redirect %q: want error=%s, one iss", raw, tc.error)
					}
					if tc.name != "repeated state" && got.Get("state") != a.state {
						t.Errorf("state %q, want %q (encoded once: %q)", got.Get("state"), a.state, raw)
					}
					if strings.Contains(raw, "%25") {
						t.Errorf("double-encoded redirect %q", raw)
					}
				})
			}
		})
		t.Run("an authorization POST is answered with 303", func(t *testing.T) {
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			u, _ := url.Parse(a.url(e.cfg.Issuer))
			req := e.request(t, http.MethodPost, "/authorize", u.Query())
			r := send(t, req)
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?") {
				t.Errorf("POST /authorize: %d %q, want 303 to the login page", r.status, r.header.Get("Location"))
			}
			// The sign-in form's POST ends in a 303 to the client.
			p := b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass)
			if p.status != http.StatusSeeOther {
				t.Errorf("sign-in POST answered %d, want 303", p.status)
			}
			e.code(t, p, a)
		})
		t.Run("token endpoint", func(t *testing.T) {
			b := e.browser()
			a := newAuthz("web", webCB, "openid offline_access")
			code := e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}, "code_verifier": {a.verifier}}
			withBasic := func(req *http.Request, id, secret string) *http.Request {
				req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
				return req
			}
			// A wrong secret gets invalid_client whatever the code says,
			// with a Basic challenge since Basic was used.
			for _, c := range []string{code, "made-up-code"} {
				f := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {webCB}}
				r := send(t, withBasic(e.request(t, http.MethodPost, "/oauth/token", f), "web", "wrong"))
				if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" ||
					!strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("wrong secret with code %q: %d %s %q", c, r.status, r.body, r.header.Get("WWW-Authenticate"))
				}
			}
			// The same with client_secret_post: no Basic challenge.
			f := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"web"}, "client_secret": {"wrong"}}
			if r := send(t, e.request(t, http.MethodPost, "/oauth/token", f)); r.status != http.StatusUnauthorized ||
				r.json(t)["error"] != "invalid_client" || r.header.Get("WWW-Authenticate") != "" {
				t.Errorf("wrong client_secret_post: %d %s %q", r.status, r.body, r.header.Get("WWW-Authenticate"))
			}
			// Two authentication methods at once.
			two := url.Values{"client_secret": {webSecret}}
			for k, v := range form {
				two[k] = v
			}
			if r := send(t, withBasic(e.request(t, http.MethodPost, "/oauth/token", two), "web", webSecret)); r.status != http.StatusBadRequest ||
				r.json(t)["error"] != "invalid_request" {
				t.Errorf("two methods: %d %s", r.status, r.body)
			}
			// A client without the grant type.
			cc := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}
			if r := send(t, withBasic(e.request(t, http.MethodPost, "/oauth/token", cc), "api", apiSecret)); r.status != http.StatusBadRequest ||
				r.json(t)["error"] != "unauthorized_client" {
				t.Errorf("grant not allowed: %d %s", r.status, r.body)
			}
			// A missing code_verifier where a challenge was sent.
			noVerifier := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}}
			if r := send(t, withBasic(e.request(t, http.MethodPost, "/oauth/token", noVerifier), "web", webSecret)); r.status != http.StatusBadRequest ||
				r.json(t)["error"] != "invalid_grant" {
				t.Errorf("missing code_verifier: %d %s", r.status, r.body)
			}
			// A parameter given twice.
			dup := e.request(t, http.MethodPost, "/oauth/token", nil)
			dup.Body = io.NopCloser(strings.NewReader(form.Encode() + "&code=" + code))
			dup.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if r := send(t, withBasic(dup, "web", webSecret)); r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_request" {
				t.Errorf("repeated parameter: %d %s", r.status, r.body)
			}
			// GET is not allowed, even with the right parameters.
			r := send(t, withBasic(e.request(t, http.MethodGet, "/oauth/token?"+form.Encode(), nil), "web", webSecret))
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
				t.Errorf("GET /oauth/token: %d Allow %q", r.status, r.header.Get("Allow"))
			}
			// None of that burned the code.
			r = send(t, withBasic(e.request(t, http.MethodPost, "/oauth/token", form), "web", webSecret))
			if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("the code after refused attempts: %d %s", r.status, r.body)
			}
			tok := r.json(t)
			// JWT access tokens are typed at+jwt and carry client_id and
			// scope (RFC 9068).
			header, claims := jwtParts(t, tok["access_token"].(string))
			if header["typ"] != "at+jwt" || claims["client_id"] != "web" || claims["scope"] != "openid offline_access" {
				t.Errorf("access token header %v claims %v", header, claims)
			}
			if h, _ := jwtParts(t, tok["id_token"].(string)); h["typ"] == "at+jwt" {
				t.Errorf("ID token typed %v", h["typ"])
			}
		})
		t.Run("userinfo", func(t *testing.T) {
			tok, _ := e.signInFresh(t, e.browser(), "openid email")
			bearer := func(method, token string) rawResponse {
				req := e.request(t, method, "/userinfo", nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				return send(t, req)
			}
			if r := bearer(http.MethodGet, tok.AccessToken); r.status != http.StatusOK || r.json(t)["sub"] != e.user.ID {
				t.Fatalf("userinfo: %d %s", r.status, r.body)
			}
			if r := bearer(http.MethodGet, ""); r.status != http.StatusUnauthorized || strings.Contains(r.body, "error") ||
				strings.Contains(r.header.Get("WWW-Authenticate"), "error=") || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("no token: %d %q %s (RFC 6750 §3.1: no error information)", r.status, r.header.Get("WWW-Authenticate"), r.body)
			}
			q := send(t, e.request(t, http.MethodGet, "/userinfo?access_token="+url.QueryEscape(tok.AccessToken), nil))
			if q.status != http.StatusBadRequest || q.json(t)["error"] != "invalid_request" {
				t.Errorf("token in the query: %d %s", q.status, q.body)
			}
			cc := e.clientToken(t, "api", apiSecret, "api")
			revoked, _ := e.signInFresh(t, e.browser(), "openid")
			if status, m := e.postJSON(t, "/revoke", "web", webSecret, url.Values{"token": {revoked.AccessToken}}); status != http.StatusOK {
				t.Fatalf("revoke: %d %v", status, m)
			}
			for name, token := range map[string]string{
				"made up":  "made-up-token",
				"revoked":  revoked.AccessToken,
				"ID token": tok.IDToken,
				"forged":   tok.AccessToken[:len(tok.AccessToken)-4] + "AAAA",
			} {
				r := bearer(http.MethodGet, token)
				if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_token" ||
					!strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("%s token: %d %s %q", name, r.status, r.body, r.header.Get("WWW-Authenticate"))
				}
			}
			if r := bearer(http.MethodGet, cc); r.status != http.StatusForbidden || r.json(t)["error"] != "insufficient_scope" {
				t.Errorf("client-credentials token: %d %s", r.status, r.body)
			}
			// Expired: the clock passes the access token's lifetime.
			e.clock.add(e.cfg.Lifetimes.AccessToken.D() + time.Minute)
			defer e.clock.add(-e.cfg.Lifetimes.AccessToken.D() - time.Minute)
			if r := bearer(http.MethodGet, tok.AccessToken); r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_token" {
				t.Errorf("expired token: %d %s", r.status, r.body)
			}
		})
		t.Run("revocation", func(t *testing.T) {
			// A refresh token revoked with a hint saying access_token is
			// found anyway (RFC 7009 §2.1).
			tok, _ := e.signInFresh(t, e.browser(), "openid offline_access")
			if status, m := e.postJSON(t, "/revoke", "web", webSecret, url.Values{"token": {tok.RefreshToken},
				"token_type_hint": {"access_token"}}); status != http.StatusOK {
				t.Fatalf("revoke: %d %v", status, m)
			}
			if status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"},
				"refresh_token": {tok.RefreshToken}}); status != http.StatusBadRequest {
				t.Errorf("refresh token revoked under a wrong hint still works: %d %v", status, m)
			}
			// An access token revoked with a hint saying refresh_token.
			tok2, _ := e.signInFresh(t, e.browser(), "openid")
			if status, m := e.postJSON(t, "/revoke", "web", webSecret, url.Values{"token": {tok2.AccessToken},
				"token_type_hint": {"refresh_token"}}); status != http.StatusOK || e.introspect(t, tok2.AccessToken) {
				t.Errorf("access token revoked under a wrong hint: %d %v, active %v", status, m, e.introspect(t, tok2.AccessToken))
			}
			// Another client's token: refused without doubting the caller's
			// credentials, and the token stays.
			tok3, _ := e.signInFresh(t, e.browser(), "openid")
			req := e.request(t, http.MethodPost, "/revoke", url.Values{"token": {tok3.AccessToken}})
			req.SetBasicAuth("web2", web2Secret)
			r := send(t, req)
			if r.status != http.StatusBadRequest || r.json(t)["error"] != "unauthorized_client" || r.header.Get("WWW-Authenticate") != "" {
				t.Errorf("revoking another client's token: %d %s %q", r.status, r.body, r.header.Get("WWW-Authenticate"))
			}
			if !e.introspect(t, tok3.AccessToken) {
				t.Error("another client revoked web's token")
			}
		})
		t.Run("a narrower scope on refresh narrows that response only", func(t *testing.T) {
			tok, _ := e.signInFresh(t, e.browser(), "openid email offline_access")
			status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"},
				"refresh_token": {tok.RefreshToken}, "scope": {"openid offline_access"}})
			if status != http.StatusOK || m["scope"] != "openid offline_access" {
				t.Fatalf("narrowed refresh: %d %v", status, m)
			}
			status, m = e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"},
				"refresh_token": {m["refresh_token"].(string)}})
			if status != http.StatusOK || m["scope"] != "openid email offline_access" {
				t.Errorf("the successor lost the grant's scope (RFC 6749 §6): %d %v", status, m)
			}
		})
		t.Run("a disabled account gets invalid_grant, and nothing is spent", func(t *testing.T) {
			carol := e.addUser("carol@example.com", "Carol", userPass)
			tok, _ := e.signInScoped(t, e.browser(), carol.Email, userPass, "openid offline_access")
			setDisabled := func(v bool) {
				if _, err := e.store.UpdateUser(t.Context(), carol.ID, func(u storage.User) (storage.User, error) {
					u.Disabled = v
					return u, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			setDisabled(true)
			refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			if status, m := e.tokenPost(t, "web", webSecret, refresh); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
				t.Errorf("refresh of a disabled account: %d %v", status, m)
			}
			setDisabled(false)
			if status, m := e.tokenPost(t, "web", webSecret, refresh); status != http.StatusOK {
				t.Errorf("the refresh token was spent by the refused request: %d %v", status, m)
			}
		})
		t.Run("introspection and revocation take POST only", func(t *testing.T) {
			for _, path := range []string{"/oauth/introspect", "/revoke"} {
				req := e.request(t, http.MethodGet, path+"?token=x", nil)
				req.SetBasicAuth("rs", rsSecret)
				if r := send(t, req); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
					t.Errorf("GET %s: %d Allow %q", path, r.status, r.header.Get("Allow"))
				}
			}
		})
		t.Run("discovery lists the scopes a browser client may ask for, and always organization and roles", func(t *testing.T) {
			_, d := getJSON(t, e.cfg.Issuer+"/.well-known/openid-configuration")
			var scopes []string
			for _, s := range d["scopes_supported"].([]any) {
				scopes = append(scopes, s.(string))
			}
			for _, want := range []string{"openid", "profile", "email", "offline_access", "organization", "roles"} {
				if !slices.Contains(scopes, want) {
					t.Errorf("scopes_supported %v lacks %s", scopes, want)
				}
			}
			for _, private := range []string{"api", "reports", "legacy_api"} {
				if slices.Contains(scopes, private) {
					t.Errorf("scopes_supported %v lists the machine scope %s", scopes, private)
				}
			}
		})
		e.noErrorLogs(t)
	})
}

// jwtParts decodes a JWT's header and claims (no verification).
func jwtParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40s", token)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			t.Fatalf("JWT part %d does not decode", i)
		}
	}
	return header, claims
}

// TestBadInputAtTheEdge: a NUL byte or invalid UTF-8 anywhere in a query
// or form, and a body over the limit, are refused before any flow runs,
// with a page or an OAuth error, and never reach the database.
func TestBadInputAtTheEdge(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), func(c *config.Config) { c.Limits.MaxBodyBytes = 4096 })
		b := e.browser()
		a := newAuthz("web", webCB, "openid")
		login := b.get(a.url(e.cfg.Issuer))
		id, _ := formInputs(t, login.doc, "/login")
		for _, bad := range []string{"\x00", "\xff", "a\x00b", "\xc3\x28"} {
			raw := url.QueryEscape(bad)
			t.Run(raw, func(t *testing.T) {
				pages := []*http.Request{
					e.request(t, http.MethodGet, "/authorize?client_id=web&redirect_uri="+url.QueryEscape(webCB)+"&response_type=code&scope=openid&state="+raw, nil),
					e.request(t, http.MethodGet, "/login?id="+raw, nil),
					e.request(t, http.MethodPost, "/login", url.Values{"id": {id["id"]}, "email": {"alice" + bad + "@example.com"}, "password": {userPass}}),
					e.request(t, http.MethodPost, "/login", url.Values{"id": {id["id"]}, "email": {e.user.Email}, "password": {"x" + bad}}),
					e.request(t, http.MethodPost, "/reset", url.Values{"id": {id["id"]}, "email": {bad}}),
					e.request(t, http.MethodGet, "/end_session?state="+raw, nil),
					e.request(t, http.MethodGet, "/email/verify?token="+raw, nil),
				}
				for _, req := range pages {
					req.Header.Set("Origin", e.cfg.Issuer)
					req.Header.Set("Sec-Fetch-Site", "same-origin")
					r := send(t, req)
					if r.status != http.StatusBadRequest || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
						t.Errorf("%s %s: %d %s, want a 400 page", req.Method, req.URL.Path, r.status, r.header.Get("Content-Type"))
					}
				}
				protocol := []*http.Request{
					e.request(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {bad}, "redirect_uri": {webCB}}),
					e.request(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {bad}}),
					e.request(t, http.MethodPost, "/oauth/introspect", url.Values{"token": {bad}}),
					e.request(t, http.MethodPost, "/revoke", url.Values{"token": {bad}}),
					e.request(t, http.MethodGet, "/api/legacy/users/"+raw, nil),
				}
				for _, req := range protocol {
					req.SetBasicAuth("web", webSecret)
					r := send(t, req)
					if r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_request" {
						t.Errorf("%s %s: %d %s, want invalid_request", req.Method, req.URL.Path, r.status, r.body)
					}
				}
			})
		}
		t.Run("a body over the limit", func(t *testing.T) {
			big := url.Values{"id": {id["id"]}, "email": {e.user.Email}, "password": {strings.Repeat("a", 8192)}}
			req := e.request(t, http.MethodPost, "/login", big)
			req.Header.Set("Origin", e.cfg.Issuer)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if r := send(t, req); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("large sign-in form: %d, want a 413 page", r.status)
			}
			tok := e.request(t, http.MethodPost, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("a ", 4096)}})
			tok.SetBasicAuth("api", apiSecret)
			if r := send(t, tok); r.status != http.StatusRequestEntityTooLarge || r.json(t)["error"] != "invalid_request" {
				t.Errorf("large token request: %d %s", r.status, r.body)
			}
		})
		t.Run("a User-Agent that is not text", func(t *testing.T) {
			for _, ua := range []string{"Mozilla/5.0 \xff\xfe", strings.Repeat("あ", 100)} {
				a := newAuthz("web", webCB, "openid")
				b := e.browser()
				login := b.get(a.url(e.cfg.Issuer))
				id, _ := formInputs(t, login.doc, "/login")
				req := e.request(t, http.MethodPost, "/login", url.Values{"id": {id["id"]}, "email": {e.user.Email}, "password": {userPass}})
				req.Header.Set("User-Agent", ua)
				req.Header.Set("Origin", e.cfg.Issuer)
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				for _, c := range b.c.Jar.Cookies(req.URL) {
					req.AddCookie(c)
				}
				if r := send(t, req); r.status != http.StatusSeeOther {
					t.Errorf("sign-in with User-Agent %.20q: %d, want the redirect to the client", ua, r.status)
				}
			}
		})
		// The user can still sign in: nothing was counted or written.
		e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a)
		e.noErrorLogs(t)
	})
}

// TestDatabaseOutage: while PostgreSQL cannot be reached, the protocol
// endpoints answer 503 (temporarily_unavailable at the token endpoint, so
// a relying party keeps its code and refresh token) and never say where
// the database is; once it is back, the same code and refresh token work.
func TestDatabaseOutage(t *testing.T) {
	st, outage := gormstoretest.NewPostgresWithOutage(t)
	e := newEnv(t, st)
	b := e.browser()
	tok, _ := e.signInFresh(t, b, "openid offline_access")
	a := newAuthz("web", webCB, "openid")
	code := e.code(t, b.get(a.url(e.cfg.Issuer)), a)
	// What a database error names: the driver, the database, the relay's
	// address and the user.
	leaks := []string{"postgres", "sekisho_test_", "dial", "SQLSTATE", "gormstore", "connect"}

	outage.Cut()
	codeForm := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}, "code_verifier": {a.verifier}}
	refreshForm := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	check := func(name string, r rawResponse, wantError string) {
		t.Helper()
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %d %s, want 503", name, r.status, r.body)
		}
		if wantError != "" && r.json(t)["error"] != wantError {
			t.Errorf("%s: %s, want %s", name, r.body, wantError)
		}
		for _, s := range leaks {
			if strings.Contains(r.body, s) {
				t.Errorf("%s answer names %q: %s", name, s, r.body)
			}
		}
	}
	for name, form := range map[string]url.Values{"code": codeForm, "refresh": refreshForm} {
		req := e.request(t, http.MethodPost, "/oauth/token", form)
		req.SetBasicAuth("web", webSecret)
		check(name, send(t, req), "temporarily_unavailable")
	}
	ui := e.request(t, http.MethodGet, "/userinfo", nil)
	ui.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	check("userinfo", send(t, ui), "temporarily_unavailable")
	in := e.request(t, http.MethodPost, "/oauth/introspect", url.Values{"token": {tok.AccessToken}})
	in.SetBasicAuth("rs", rsSecret)
	check("introspection", send(t, in), "temporarily_unavailable")
	lp := e.request(t, http.MethodGet, "/login?id=00000000-0000-0000-0000-000000000000", nil)
	check("login page", send(t, lp), "")

	outage.Restore()
	if status, m := e.tokenPost(t, "web", webSecret, codeForm); status != http.StatusOK {
		t.Errorf("the code after the outage: %d %v", status, m)
	}
	if status, m := e.tokenPost(t, "web", webSecret, refreshForm); status != http.StatusOK {
		t.Errorf("the refresh token after the outage: %d %v", status, m)
	}
}

// flakyStore fails the next read of the account (GetUser, or the refresh
// grant read with it) when armed, as a database that drops in the middle
// of a token response would.
type flakyStore struct {
	storage.Storage
	failNext atomic.Bool
}

func (s *flakyStore) GetUser(ctx context.Context, id string) (storage.User, error) {
	if s.failNext.CompareAndSwap(true, false) {
		return storage.User{}, fmt.Errorf("flaky: %w", storage.ErrUnavailable)
	}
	return s.Storage.GetUser(ctx, id)
}

func (s *flakyStore) GetRefreshGrant(ctx context.Context, hash string) (storage.RefreshGrant, error) {
	if s.failNext.CompareAndSwap(true, false) {
		return storage.RefreshGrant{}, fmt.Errorf("flaky: %w", storage.ErrUnavailable)
	}
	return s.Storage.GetRefreshGrant(ctx, hash)
}

// A token response that fails with 503 leaves the code and the refresh
// token usable: the client's retry is not taken for a replay.
func TestTokenRetryAfterUnavailable(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		st := &flakyStore{Storage: newStore(t)}
		e := newEnv(t, st, func(c *config.Config) { c.Refresh.ReuseWindow = config.Off })
		b := e.browser()
		a := newAuthz("web", webCB, "openid offline_access")
		code := e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}, "code_verifier": {a.verifier}}
		st.failNext.Store(true)
		if status, m := e.tokenPost(t, "web", webSecret, form); status != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" {
			t.Fatalf("code exchange while the database drops: %d %v", status, m)
		}
		status, tok := e.tokenPost(t, "web", webSecret, form)
		if status != http.StatusOK {
			t.Fatalf("the retry of the code exchange: %d %v", status, tok)
		}
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}
		st.failNext.Store(true)
		if status, m := e.tokenPost(t, "web", webSecret, refresh); status != http.StatusServiceUnavailable {
			t.Fatalf("refresh while the database drops: %d %v", status, m)
		}
		if status, m := e.tokenPost(t, "web", webSecret, refresh); status != http.StatusOK {
			t.Errorf("the retry of the refresh (strict rotation): %d %v", status, m)
		}
	})
}
