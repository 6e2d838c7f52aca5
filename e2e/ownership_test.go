package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/storage"
)

// TestTokensStayWithTheirOwner: a client introspects only its own tokens
// (or those of the clients it is a resource server for), an access token
// never passes as an ID token, prompt=none honours the hint's user, and a
// password change on /account revokes every token.
func TestTokensStayWithTheirOwner(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		t.Run("introspection", func(t *testing.T) {
			webTok, _ := e.signInFresh(t, e.browser(), "openid email")
			apiTok := e.clientToken(t, "api", apiSecret, "api")
			for _, tc := range []struct {
				caller, secret, token string
				active                bool
			}{
				{"web", webSecret, webTok.AccessToken, true},    // its own
				{"api", apiSecret, apiTok, true},                // its own
				{"web", webSecret, apiTok, false},               // another client's
				{"api", apiSecret, webTok.AccessToken, false},   // another client's, with the user's claims
				{"web2", web2Secret, webTok.AccessToken, false}, // another client's
				{"rs", rsSecret, webTok.AccessToken, true},      // introspect_for: web
				{"rs", rsSecret, apiTok, true},                  // introspect_for: api
			} {
				status, m := e.postJSON(t, "/oauth/introspect", tc.caller, tc.secret, url.Values{"token": {tc.token}})
				if status != http.StatusOK || m["active"] != tc.active {
					t.Errorf("%s introspecting: %d %v, want active=%v", tc.caller, status, m, tc.active)
				}
				if !tc.active && len(m) != 1 {
					t.Errorf("%s got more than active:false: %v", tc.caller, m)
				}
			}
		})
		t.Run("an access token is not an ID token", func(t *testing.T) {
			b := e.browser()
			tok, _ := e.signInFresh(t, b, "openid")
			// At end_session: the confirmation page, the session survives.
			q := url.Values{"id_token_hint": {tok.AccessToken}, "post_logout_redirect_uri": {webHome}}
			if p := b.get(e.cfg.Issuer + "/end_session?" + q.Encode()); p.status != http.StatusOK || !p.hasForm("/end_session") {
				t.Errorf("access token as id_token_hint at end_session: %d, want the confirmation page", p.status)
			}
			// An access token of the old form (typ JWT, client_id, no azp).
			old := e.sign(t, "JWT", map[string]any{"iss": e.cfg.Issuer, "sub": e.user.ID, "aud": []string{"web"},
				"client_id": "web", "jti": uuid.NewString(), "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
			q.Set("id_token_hint", old)
			if p := b.get(e.cfg.Issuer + "/end_session?" + q.Encode()); p.status != http.StatusOK || !p.hasForm("/end_session") {
				t.Errorf("old-style access token as id_token_hint: %d, want the confirmation page", p.status)
			}
			a := newAuthz("web", webCB, "openid")
			e.code(t, b.get(a.url(e.cfg.Issuer)), a) // still signed in
			// At /authorize: an invalid hint.
			for _, hint := range []string{tok.AccessToken, old} {
				a := newAuthz("web", webCB, "openid")
				a.extra.Set("id_token_hint", hint)
				if q := b.get(a.url(e.cfg.Issuer)).location(t).Query(); q.Get("error") != "login_required" || q.Get("iss") != e.cfg.Issuer {
					t.Errorf("access token as id_token_hint at /authorize: %v", q)
				}
			}
		})
		t.Run("a hint without sid asks for confirmation", func(t *testing.T) {
			b := e.browser()
			e.signInFresh(t, b, "openid")
			hint := e.sign(t, "JWT", map[string]any{"iss": e.cfg.Issuer, "sub": e.user.ID, "aud": []string{"web"}, "azp": "web",
				"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "auth_time": time.Now().Unix()})
			q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {webHome}}
			if p := b.get(e.cfg.Issuer + "/end_session?" + q.Encode()); p.status != http.StatusOK || !p.hasForm("/end_session") {
				t.Errorf("hint without sid: %d, want the confirmation page", p.status)
			}
		})
		t.Run("prompt=none with another user's hint", func(t *testing.T) {
			bob, _ := e.signInFreshAs(t, e.browser(), e.other.Email, otherPass)
			b := e.browser()
			alice, _ := e.signInFresh(t, b, "openid") // alice's session
			a := newAuthz("web", webCB, "openid")
			a.extra.Set("prompt", "none")
			a.extra.Set("id_token_hint", bob.IDToken)
			q := b.get(a.url(e.cfg.Issuer)).location(t).Query()
			if q.Get("error") != "login_required" || q.Get("code") != "" || q.Get("state") != a.state {
				t.Errorf("prompt=none with bob's hint in alice's browser: %v, want login_required", q)
			}
			// Without prompt=none the sign-in form is shown, not alice's code.
			a2 := newAuthz("web", webCB, "openid")
			a2.extra.Set("id_token_hint", bob.IDToken)
			if p := b.get(a2.url(e.cfg.Issuer)); !p.hasLoginForm() {
				t.Errorf("bob's hint in alice's browser: status %d, want the sign-in form", p.status)
			}
			// Alice's own hint still answers at once.
			a3 := newAuthz("web", webCB, "openid")
			a3.extra.Set("prompt", "none")
			a3.extra.Set("id_token_hint", alice.IDToken)
			e.code(t, b.get(a3.url(e.cfg.Issuer)), a3)
		})
		t.Run("a password change on the account page revokes every token", func(t *testing.T) {
			other := e.browser()
			offline, _ := e.signInFreshAs(t, other, e.other.Email, otherPass)
			b := e.browser()
			mine, _ := e.signInFreshAs(t, b, e.other.Email, otherPass)
			e.openAccount(t, b, e.other.Email, otherPass)
			p := b.post(e.cfg.Issuer+"/account/password", url.Values{"current_password": {otherPass},
				"password": {"Fresh-lantern-42?"}, "confirm": {"Fresh-lantern-42?"}}, e.cfg.Issuer)
			if p.status != http.StatusOK {
				t.Fatalf("password change: %d %s", p.status, textOf(p))
			}
			for name, tok := range map[string]string{"other browser": offline.RefreshToken, "this browser": mine.RefreshToken} {
				if status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}); status != http.StatusBadRequest {
					t.Errorf("offline refresh token (%s) after the password change: %d %v", name, status, m)
				}
			}
			for name, tok := range map[string]string{"other browser": offline.AccessToken, "this browser": mine.AccessToken} {
				if e.introspect(t, tok) {
					t.Errorf("access token (%s) active after the password change", name)
				}
			}
		})
	})
}

// sign signs claims with the provider's current key and the JWS typ.
func (e *env) sign(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.srv.Keys().Sign(payload, typ)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
