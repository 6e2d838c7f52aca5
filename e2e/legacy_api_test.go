package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

const productSecret = "product-back-end-secret-0123456789"

// withProductAPI adds the legacy product's back end: a client-credentials
// client with the API scope.
func withProductAPI(c *config.Config) {
	c.Clients = append(c.Clients, config.Client{ID: "product", Name: config.Labels{JA: "Old Shop back end", EN: "Old Shop back end"}, Secret: productSecret,
		GrantTypes: []string{"client_credentials"}, Scopes: []string{"legacy_api"}, AccessTokenFormat: "jwt"},
		config.Client{ID: "product-opaque", Name: config.Labels{JA: "Old Shop batch", EN: "Old Shop batch"}, Secret: productSecret,
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"legacy_api"}, AccessTokenFormat: "opaque"})
}

// clientToken gets a client-credentials access token.
func (e *env) clientToken(t *testing.T, id, secret, scope string) string {
	t.Helper()
	status, m := e.tokenPost(t, id, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {scope}})
	tok, _ := m["access_token"].(string)
	if status != http.StatusOK || tok == "" {
		t.Fatalf("client_credentials for %s: %d %v", id, status, m)
	}
	return tok
}

// apiResponse is an answer of the API.
type apiResponse struct {
	status int
	header http.Header
	body   map[string]any
}

// api calls the API with a bearer token (none when empty) and a JSON body
// (none when nil; a string is sent as it is).
func (e *env) api(t *testing.T, method, path, token string, body any) apiResponse {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.cfg.Issuer+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := apiResponse{status: resp.StatusCode, header: resp.Header}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s %s: status %d, body is not JSON: %q", method, path, resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return out
}

// migrate gives an imported user a sekisho password, as a completed
// reset does.
func (e *env) migrate(t *testing.T, u storage.User, pw string) {
	t.Helper()
	hash, err := password.New(password.Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 2).Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ChangePassword(t.Context(), storage.PasswordChange{Now: time.Now(), UserID: u.ID,
		PasswordHash: hash, VerifyEmail: true}); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyAPI: the product's back end looks up migrations and changes
// addresses by legacy id with a client-credentials token carrying the API
// scope; without it, the API answers with an OAuth error and changes
// nothing. A changed address signs in at once; the old one does not.
func TestLegacyAPI(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		// The web client may ask for the API scope too: a user's token
		// must still be refused.
		e := newEnvSMTP(t, newStore(t), smtp, withLegacy, withProductAPI, func(c *config.Config) {
			c.Clients[0].Scopes = append(c.Clients[0].Scopes, "legacy_api")
		})
		e.run()
		kei := e.importLegacy(t, "L-1", "kei@example.com")
		bob := e.importLegacy(t, "L/2", "ben@example.com") // ids may hold a slash
		e.migrate(t, bob, newPass)
		token := e.clientToken(t, "product", productSecret, "legacy_api")

		// Without the scope, or without a valid token: an OAuth error,
		// and nothing changes.
		change := map[string]any{"email": "kei.new@example.com", "email_verified": true}
		apiToken := e.clientToken(t, "api", apiSecret, "api")
		userToken, _ := e.signInFresh(t, e.browser(), "openid email offline_access legacy_api")
		if !strings.Contains(scopeOf(userToken.Extra("scope")), "legacy_api") {
			t.Fatalf("the user's token lacks legacy_api (scope %v): the case below would prove nothing", userToken.Extra("scope"))
		}
		opaque := e.clientToken(t, "product-opaque", productSecret, "legacy_api")
		tampered := opaque[:len(opaque)/2] + flip(opaque[len(opaque)/2]) + opaque[len(opaque)/2+1:]
		for _, tc := range []struct {
			name, token, code string
			status            int
		}{
			{"no token", "", "", http.StatusUnauthorized},
			{"garbage", "not-a-token", "invalid_token", http.StatusUnauthorized},
			{"long garbage", strings.Repeat("QUJD", 16), "invalid_token", http.StatusUnauthorized},
			{"a tampered opaque token", tampered, "invalid_token", http.StatusUnauthorized},
			{"an ID token", userToken.IDToken, "invalid_token", http.StatusUnauthorized},
			{"a refresh token", userToken.RefreshToken, "invalid_token", http.StatusUnauthorized},
			{"token without the scope", apiToken, "insufficient_scope", http.StatusForbidden},
			{"a user's token with the scope", userToken.AccessToken, "insufficient_scope", http.StatusForbidden},
		} {
			for _, call := range []struct {
				method, path string
				body         any
			}{{http.MethodGet, "/api/legacy/users/L-1", nil}, {http.MethodPut, "/api/legacy/users/L-1/email", change}} {
				r := e.api(t, call.method, call.path, tc.token, call.body)
				code, _ := r.body["error"].(string)
				if r.status != tc.status || code != tc.code || r.body["error_description"] == "" {
					t.Errorf("%s, %s %s: %d %v, want %d %q", tc.name, call.method, call.path, r.status, r.body, tc.status, tc.code)
				}
				// RFC 6750 §3: a challenge always; an error code only
				// when a token was presented.
				if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") ||
					(tc.code != "" && !strings.Contains(ch, `error="`+tc.code+`"`)) || (tc.code == "" && strings.Contains(ch, "error=")) {
					t.Errorf("%s: WWW-Authenticate %q", tc.name, ch)
				}
			}
		}
		if u, _ := e.store.GetUser(t.Context(), kei.ID); u.Email != kei.Email {
			t.Fatalf("a refused call changed the address to %q", u.Email)
		}

		// The migration status.
		r := e.api(t, http.MethodGet, "/api/legacy/users/L-1", token, nil)
		if r.status != http.StatusOK || r.body["sub"] != kei.ID || r.body["legacy_id"] != "L-1" || r.body["migrated"] != false ||
			r.body["migrated_at"] != nil || r.body["email"] != kei.Email || r.body["organization"] != "default" {
			t.Errorf("status of an unmigrated user: %d %v", r.status, r.body)
		}
		// An account of another organization is named with its code.
		shop := e.addOrg(t, "SHOP-9", "Shop Nine")
		if res, err := e.store.ImportLegacyUsers(t.Context(), []storage.LegacyUser{{LegacyID: "S-1", Email: "sai@example.com",
			OrganizationID: shop.ID}}, time.Now(), false); err != nil || res[0].Outcome != storage.ImportCreated {
			t.Fatalf("import into SHOP-9: %+v %v", res, err)
		}
		if r := e.api(t, http.MethodGet, "/api/legacy/users/S-1", token, nil); r.status != http.StatusOK || r.body["organization"] != "SHOP-9" {
			t.Errorf("status of a user of SHOP-9: %d %v", r.status, r.body)
		}
		if r := e.api(t, http.MethodPut, "/api/legacy/users/S-1/email", token, map[string]any{"email": "sai.new@example.com",
			"email_verified": false}); r.status != http.StatusOK || r.body["organization"] != "SHOP-9" || r.body["email"] != "sai.new@example.com" {
			t.Errorf("change of a user of SHOP-9: %d %v", r.status, r.body)
		}
		r = e.api(t, http.MethodGet, "/api/legacy/users/"+url.PathEscape("L/2"), token, nil)
		if at, _ := r.body["migrated_at"].(string); r.status != http.StatusOK || r.body["migrated"] != true || at == "" || r.body["sub"] != bob.ID {
			t.Errorf("status of a migrated user: %d %v", r.status, r.body)
		}
		if r := e.api(t, http.MethodGet, "/api/legacy/users/L-1", opaque, nil); r.status != http.StatusOK || r.body["sub"] != kei.ID {
			t.Errorf("with an opaque token: %d %v", r.status, r.body)
		}
		for _, p := range []string{"/api/legacy/users/nobody", "/api/legacy/users/L%2F..%2F2", "/api/legacy/users/L%2F2%2F"} {
			if r := e.api(t, http.MethodGet, p, token, nil); r.status != http.StatusNotFound || r.body["error"] != "not_found" {
				t.Errorf("GET %s: %d %v", p, r.status, r.body)
			}
		}
		if r := e.api(t, http.MethodGet, "/api/nothing", token, nil); r.status != http.StatusNotFound || r.body["error"] != "not_found" {
			t.Errorf("unknown API path: %d %v", r.status, r.body)
		}
		if r := e.api(t, http.MethodPut, "/api/legacy/users/L-1", token, change); r.status != http.StatusMethodNotAllowed ||
			r.header.Get("Allow") != "GET, HEAD" {
			t.Errorf("PUT on the user: %d %v, Allow %q", r.status, r.body, r.header.Get("Allow"))
		}

		// Bad requests change nothing.
		for _, bad := range []any{
			map[string]any{"email": "not an address", "email_verified": true},
			map[string]any{"email": "kei.new@example.com"},
			map[string]any{"email": "kei.new@example.com", "email_verified": true, "name": "x"},
			"{not json",
		} {
			if r := e.api(t, http.MethodPut, "/api/legacy/users/L-1/email", token, bad); r.status != http.StatusBadRequest ||
				r.body["error"] != "invalid_request" {
				t.Errorf("body %v: %d %v", bad, r.status, r.body)
			}
		}
		big := `{"email": "kei.new@example.com", "email_verified": true, "x": "` + strings.Repeat("a", int(e.cfg.Limits.MaxBodyBytes)) + `"}`
		if r := e.api(t, http.MethodPut, "/api/legacy/users/L-1/email", token, big); r.status != http.StatusRequestEntityTooLarge ||
			r.body["error"] != "invalid_request" {
			t.Errorf("a body over the limit: %d %v", r.status, r.body)
		}
		if r := e.api(t, http.MethodPut, "/api/legacy/users/L-1/email", token,
			map[string]any{"email": "BEN@example.com", "email_verified": true}); r.status != http.StatusConflict || r.body["error"] != "email_taken" {
			t.Errorf("another account's address: %d %v", r.status, r.body)
		}
		if u, _ := e.store.GetUser(t.Context(), kei.ID); u.Email != kei.Email {
			t.Fatalf("a bad request changed the address to %q", u.Email)
		}

		// A reset code mailed to the old address before the change stops
		// working with it.
		rb := e.browser()
		ids, _ := formInputs(t, rb.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)).doc, "/login")
		codePage := rb.post(e.cfg.Issuer+"/reset", url.Values{"id": {ids["id"]}, "email": {kei.Email}}, e.cfg.Issuer)
		oldCode := mailtest.Code(mailsTo(t, smtp, kei.Email, "password reset code", 1)[0].Text)

		// The change: at once, verified as the product says.
		r = e.api(t, http.MethodPut, "/api/legacy/users/L-1/email", token, change)
		if r.status != http.StatusOK || r.body["email"] != "kei.new@example.com" || r.body["email_verified"] != true || r.body["migrated"] != false ||
			r.body["organization"] != "default" {
			t.Fatalf("change: %d %v", r.status, r.body)
		}
		notice := mailsTo(t, smtp, kei.Email, "email address", 1)[0]
		if !strings.Contains(notice.Text, "k***@example.com") {
			t.Errorf("the notice to the old address does not name the new one masked:\n%s", notice.Text)
		}
		if p := rb.submitReset(t, codePage, oldCode, newPass, newPass); p.doc == nil || !strings.Contains(alertText(p), "code") {
			t.Errorf("the old address's reset code still works: status %d, %s", p.status, p.url)
		}
		if ev, _ := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: kei.ID, Type: "email_changed"}); len(ev) != 1 ||
			ev[0].ClientID != "product" {
			t.Errorf("audit events = %+v", ev)
		}

		// The new address signs in (the legacy form, during the window);
		// the old one does not.
		b := e.browser()
		a := newAuthz("web", webCB, "openid email")
		a.extra.Set("acr_values", "urn:sekisho:acr:legacy")
		legacyPost := func(email string) page {
			p := b.get(a.url(e.cfg.Issuer))
			vals, _ := formInputs(t, p.doc, "/login/legacy")
			return b.post(e.cfg.Issuer+"/login/legacy", url.Values{"id": {vals["id"]}, "email": {email}, "password": {legacyPass}}, e.cfg.Issuer)
		}
		if p := legacyPost(kei.Email); !strings.Contains(alertText(p), "incorrect") {
			t.Errorf("the old address still signs in: %q", alertText(p))
		}
		if p := legacyPost("kei.new@example.com"); !p.hasForm("/reset") {
			t.Errorf("the new address does not sign in on the legacy form: %d %.300s", p.status, p.body)
		}

		// A migrated user's address, unverified as the product says: the
		// unified form signs in with it, and the ID token says so.
		r = e.api(t, http.MethodPut, "/api/legacy/users/"+url.PathEscape("L/2")+"/email", token,
			map[string]any{"email": "ben.new@example.com", "email_verified": false})
		if r.status != http.StatusOK || r.body["email_verified"] != false || r.body["migrated"] != true {
			t.Fatalf("change of a migrated user: %d %v", r.status, r.body)
		}
		fresh := e.browser()
		a2 := newAuthz("web", webCB, "openid email")
		tok, err := e.exchange(t, e.rp("web", webSecret, webCB, "openid", "email"),
			e.code(t, fresh.signIn(fresh.get(a2.url(e.cfg.Issuer)), "ben.new@example.com", newPass), a2), a2)
		if err != nil {
			t.Fatal(err)
		}
		if tok.IDTokenClaims.Subject != bob.ID || tok.IDTokenClaims.Email != "ben.new@example.com" || bool(tok.IDTokenClaims.EmailVerified) {
			t.Errorf("ID token after the change: sub %q email %q verified %v", tok.IDTokenClaims.Subject,
				tok.IDTokenClaims.Email, tok.IDTokenClaims.EmailVerified)
		}
		if p := fresh.signIn(e.browser().get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), "ben@example.com", newPass); !p.hasLoginForm() {
			t.Error("the old address of a migrated user still signs in")
		}

		// A revoked token is refused.
		if status, m := e.postJSON(t, "/revoke", "product", productSecret, url.Values{"token": {token}}); status != http.StatusOK {
			t.Fatalf("revoke: %d %v", status, m)
		}
		if r := e.api(t, http.MethodGet, "/api/legacy/users/L-1", token, nil); r.status != http.StatusUnauthorized || r.body["error"] != "invalid_token" {
			t.Errorf("revoked token: %d %v", r.status, r.body)
		}
	})
}

// flip changes one base64url character into another.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// scopeOf is the token response's scope as a string.
func scopeOf(v any) string {
	s, _ := v.(string)
	return s
}
