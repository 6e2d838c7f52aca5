package e2e

import (
	"fmt"
	"github.com/sekisho/sekisho/htmltest"
	"golang.org/x/net/html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/sekisho/sekisho/storage"
)

func TestFlows(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		cases := []struct {
			name string
			run  func(t *testing.T, e *env)
		}{
			{"code flow with PKCE through the login form", testCodeFlow},
			{"SSO: a second client signs in without the form", testSSO},
			{"prompt=none with and without a session", testPromptNone},
			{"prompt=login, max_age and login_hint show the form", testReauthentication},
			{"unknown client and wrong redirect_uri get a page, not a redirect", testBadClientOrRedirect},
			{"PKCE: S256 only, required for public clients", testPKCE},
			{"code replay fails and revokes what the first use issued", testCodeReplay},
			{"refresh rotation and reuse detection", testRefreshRotation},
			{"client_credentials, introspection, revocation", testClientCredentials},
			{"userinfo", testUserinfo},
			{"end_session", testEndSession},
			{"cross-site form posts are refused", testCrossSite},
			{"discovery and JWKS", testDiscovery},
			{"an expired sign-in shows a page with a way back", testExpiredRequest},
			{"wrong passwords are throttled, then allowed again", testThrottle},
			{"a disabled user cannot sign in and loses the session", testDisabledUser},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.run(t, newEnv(t, newStore(t))) })
		}
	})
}

func testCodeFlow(t *testing.T, e *env) {
	b := e.browser()
	a := newAuthz("web", webCB, "openid profile email")
	p := b.get(a.url(e.cfg.Issuer))
	if p.status != http.StatusOK || !p.hasLoginForm() {
		t.Fatalf("authorize: status %d at %s, want the login form", p.status, p.url)
	}
	_, inputs := formInputs(t, p.doc, "/login")
	want := map[string]string{"email": "username", "password": "current-password"}
	for _, in := range inputs {
		if ac, ok := want[in["name"]]; ok {
			if in["autocomplete"] != ac {
				t.Errorf("input %s autocomplete = %q, want %q", in["name"], in["autocomplete"], ac)
			}
			delete(want, in["name"])
		}
	}
	if len(want) > 0 {
		t.Errorf("login form lacks inputs %v", want)
	}

	// Wrong password and unknown account: the same answer.
	wrong := b.signIn(p, e.user.Email, "Wrong-password-1!")
	unknown := b.signIn(p, "nobody@example.com", "Wrong-password-1!")
	for _, r := range []page{wrong, unknown} {
		if r.status != http.StatusOK || !r.hasLoginForm() || !strings.Contains(r.body, "login-error") && !strings.Contains(r.body, "role=\"alert\"") {
			t.Errorf("failed sign-in: status %d, form %t", r.status, r.hasLoginForm())
		}
	}
	if textOf(wrong) != textOf(unknown) {
		t.Errorf("wrong password and unknown account answer differently")
	}

	ok := b.signIn(p, strings.ToUpper(e.user.Email), userPass) // emails compare case-insensitively
	code := e.code(t, ok, a)
	tok, err := e.exchange(t, e.rp("web", webSecret, webCB, "openid", "profile", "email"), code, a)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	c := tok.IDTokenClaims
	if c.Subject != e.user.ID || uuid.Validate(c.Subject) != nil {
		t.Errorf("sub = %q, want the user's UUID %q", c.Subject, e.user.ID)
	}
	if c.Email != e.user.Email || !bool(c.EmailVerified) || c.Name != "Alice" || c.PreferredUsername != e.user.Email {
		t.Errorf("profile claims: email %q verified %v name %q preferred_username %q", c.Email, c.EmailVerified, c.Name, c.PreferredUsername)
	}
	if c.Nonce != a.nonce {
		t.Errorf("nonce = %q, want %q", c.Nonce, a.nonce)
	}
	if !slices.Equal(c.AuthenticationMethodsReferences, []string{"pwd"}) || c.AuthenticationContextClassReference != "urn:sekisho:acr:pwd" {
		t.Errorf("amr %v acr %q", c.AuthenticationMethodsReferences, c.AuthenticationContextClassReference)
	}
	if sid, _ := c.Claims["sid"].(string); sid == "" {
		t.Error("no sid claim")
	}
	if c.AuthTime == 0 {
		t.Error("no auth_time")
	}
	if tok.RefreshToken != "" {
		t.Error("refresh token issued without offline_access")
	}
	events, err := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: e.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, ev := range events {
		outcomes = append(outcomes, ev.Type+":"+ev.Outcome)
	}
	if !slices.Contains(outcomes, "login:success") || !slices.Contains(outcomes, "login:failure") {
		t.Errorf("audit events %v, want a login success and a failure", outcomes)
	}
}

// textOf is the page's text (for comparing two answers).
func textOf(p page) string {
	if p.doc == nil {
		return ""
	}
	return htmltest.Text(p.doc)
}

func testSSO(t *testing.T, e *env) {
	b := e.browser()
	first, _ := e.signInFresh(t, b, "openid")
	a := newAuthz("web2", web2CB, "openid email")
	p := b.get(a.url(e.cfg.Issuer))
	code := e.code(t, p, a) // no form: straight back with a code
	tok, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid", "email"), code, a)
	if err != nil {
		t.Fatal(err)
	}
	if tok.IDTokenClaims.Subject != e.user.ID {
		t.Errorf("sub %q, want %q", tok.IDTokenClaims.Subject, e.user.ID)
	}
	if tok.IDTokenClaims.Claims["sid"] != first.IDTokenClaims.Claims["sid"] {
		t.Errorf("sid differs between the two clients of one SSO session")
	}
	if !e.introspect(t, tok.AccessToken) {
		t.Error("opaque access token of web2 is not active")
	}
}

func testPromptNone(t *testing.T, e *env) {
	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	a.extra.Set("prompt", "none")
	loc := b.get(a.url(e.cfg.Issuer)).location(t)
	if q := loc.Query(); q.Get("error") != "login_required" || q.Get("state") != a.state || q.Get("iss") != e.cfg.Issuer {
		t.Errorf("prompt=none without session: %s", loc)
	}
	e.signInFresh(t, b, "openid")
	a2 := newAuthz("web", webCB, "openid")
	a2.extra.Set("prompt", "none")
	e.code(t, b.get(a2.url(e.cfg.Issuer)), a2)

	// A forced password change is due: interaction_required.
	if _, err := e.store.UpdateUser(t.Context(), e.user.ID, func(u storage.User) (storage.User, error) {
		u.MustChangePassword = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	a3 := newAuthz("web", webCB, "openid")
	a3.extra.Set("prompt", "none")
	if q := b.get(a3.url(e.cfg.Issuer)).location(t).Query(); q.Get("error") != "interaction_required" {
		t.Errorf("prompt=none with a due password change: error %q", q.Get("error"))
	}
}

func testReauthentication(t *testing.T, e *env) {
	b := e.browser()
	e.signInFresh(t, b, "openid")
	for name, extra := range map[string]url.Values{
		"prompt=login":     {"prompt": {"login"}},
		"max_age=0":        {"max_age": {"0"}},
		"login_hint other": {"login_hint": {e.other.Email}},
	} {
		a := newAuthz("web", webCB, "openid")
		a.extra = extra
		p := b.get(a.url(e.cfg.Issuer))
		if !p.hasLoginForm() {
			t.Errorf("%s: got status %d at %s, want the login form", name, p.status, p.url)
		}
	}
	a := newAuthz("web", webCB, "openid")
	a.extra.Set("login_hint", e.user.Email)
	e.code(t, b.get(a.url(e.cfg.Issuer)), a)

	// Signing in as another user starts a new session (new sid).
	a2 := newAuthz("web", webCB, "openid")
	a2.extra.Set("prompt", "login")
	p := b.signIn(b.get(a2.url(e.cfg.Issuer)), e.other.Email, otherPass)
	tok, err := e.exchange(t, e.rp("web", webSecret, webCB, "openid"), e.code(t, p, a2), a2)
	if err != nil {
		t.Fatal(err)
	}
	if tok.IDTokenClaims.Subject != e.other.ID {
		t.Errorf("sub %q, want bob", tok.IDTokenClaims.Subject)
	}
}

func testBadClientOrRedirect(t *testing.T, e *env) {
	b := e.browser()
	for name, a := range map[string]*authz{
		"unknown client":     newAuthz("nope", webCB, "openid"),
		"unregistered uri":   newAuthz("web", "http://127.0.0.1/evil/callback", "openid"),
		"other client's uri": newAuthz("web", web2CB, "openid"),
	} {
		p := b.get(a.url(e.cfg.Issuer))
		if p.status != http.StatusBadRequest || p.doc == nil || p.header.Get("Location") != "" {
			t.Errorf("%s: status %d, location %q; want a 400 page", name, p.status, p.header.Get("Location"))
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, newAuthz("nope", webCB, "openid").url(e.cfg.Issuer), nil)
	req.Header.Set("Accept-Language", "ja")
	if p := b.do(req); !strings.Contains(p.body, `lang="ja"`) {
		t.Error("the error page is not in Japanese for Accept-Language: ja")
	}
}

func testPKCE(t *testing.T, e *env) {
	b := e.browser()
	plain := newAuthz("web", webCB, "openid")
	plain.extra.Set("code_challenge_method", "plain")
	if q := b.get(plain.url(e.cfg.Issuer)).location(t).Query(); q.Get("error") != "invalid_request" {
		t.Errorf("plain challenge: error %q, want invalid_request", q.Get("error"))
	}
	none := newAuthz("spa", spaCB, "openid")
	none.extra.Set("code_challenge", "")
	none.extra.Set("code_challenge_method", "")
	if q := b.get(none.url(e.cfg.Issuer)).location(t).Query(); q.Get("error") != "invalid_request" {
		t.Errorf("public client without challenge: error %q", q.Get("error"))
	}
	// Public client with S256: works without a secret.
	a := newAuthz("spa", spaCB, "openid offline_access")
	code := e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a)
	// A wrong verifier fails and does not burn the code.
	status, m := e.tokenPost(t, "", "", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {spaCB}, "client_id": {"spa"}, "code_verifier": {"wrong-verifier-wrong-verifier-wrong-verifier"}})
	if status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", status, m)
	}
	status, m = e.tokenPost(t, "", "", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {spaCB}, "client_id": {"spa"}, "code_verifier": {a.verifier}})
	if status != http.StatusOK || m["refresh_token"] == nil {
		t.Errorf("public client exchange: %d %v", status, m)
	}
	// require_pkce: false client: no challenge is fine, but a verifier
	// without a stored challenge is refused.
	l := newAuthz("legacy", "http://127.0.0.1/legacy/callback", "openid")
	l.extra.Set("code_challenge", "")
	l.extra.Set("code_challenge_method", "")
	code = e.code(t, b.get(l.url(e.cfg.Issuer)), l)
	status, m = e.tokenPost(t, "legacy", web2Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {l.redirect}, "code_verifier": {l.verifier}})
	if status != http.StatusBadRequest {
		t.Errorf("verifier without challenge: %d %v", status, m)
	}
	status, m = e.tokenPost(t, "legacy", web2Secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {l.redirect}})
	if status != http.StatusOK {
		t.Errorf("require_pkce=false exchange: %d %v", status, m)
	}
}

func testCodeReplay(t *testing.T, e *env) {
	b := e.browser()
	a := newAuthz("web", webCB, "openid offline_access")
	code := e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}, "code_verifier": {a.verifier}}
	// Bad client secret first: refused, and the code survives it.
	if status, m := e.tokenPost(t, "web", "wrong-secret", form); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Errorf("bad secret: %d %v", status, m)
	}
	status, first := e.tokenPost(t, "web", webSecret, form)
	if status != http.StatusOK {
		t.Fatalf("first use: %d %v", status, first)
	}
	if status, m := e.tokenPost(t, "web", webSecret, form); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("replay: %d %v, want invalid_grant", status, m)
	}
	if e.introspect(t, first["access_token"].(string)) {
		t.Error("access token of the first use is still active after the replay")
	}
	if status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {first["refresh_token"].(string)}}); status != http.StatusBadRequest {
		t.Errorf("refresh token of the first use still works: %d %v", status, m)
	}
}

func testRefreshRotation(t *testing.T, e *env) {
	b := e.browser()
	tok, _ := e.signInFresh(t, b, "openid profile offline_access")
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token with offline_access")
	}
	r := e.rp("web", webSecret, webCB, "openid", "profile", "offline_access")
	rt1 := tok.RefreshToken
	next, err := rp.RefreshTokens[*oidc.IDTokenClaims](t.Context(), r, rt1, "", "")
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if next.RefreshToken == "" || next.RefreshToken == rt1 {
		t.Fatal("refresh did not rotate the refresh token")
	}
	idt, err := rp.VerifyIDToken[*oidc.IDTokenClaims](t.Context(), next.Extra("id_token").(string), r.IDTokenVerifier())
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if idt.AuthenticationContextClassReference != "urn:sekisho:acr:pwd" || !slices.Equal(idt.AuthenticationMethodsReferences, []string{"pwd"}) ||
		idt.Claims["sid"] != tok.IDTokenClaims.Claims["sid"] || idt.AuthTime != tok.IDTokenClaims.AuthTime {
		t.Errorf("refreshed ID token lost acr/amr/sid/auth_time: acr %q amr %v sid %v", idt.AuthenticationContextClassReference,
			idt.AuthenticationMethodsReferences, idt.Claims["sid"])
	}
	// Reusing rt1 after the reuse window revokes the family: rt2 and its
	// access token too.
	e.clock.add(e.cfg.Refresh.ReuseWindow.D() + time.Second)
	if status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("reuse: %d %v", status, m)
	}
	if status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next.RefreshToken}}); status != http.StatusBadRequest {
		t.Errorf("the newest token of a reused family still works: %d %v", status, m)
	}
	if e.introspect(t, next.AccessToken) {
		t.Error("access token of a revoked family is active")
	}
	// Another client cannot redeem web's refresh token.
	tok2, _ := e.signInFresh(t, e.browser(), "openid offline_access")
	if status, _ := e.tokenPost(t, "web2", web2Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}}); status == http.StatusOK {
		t.Error("web2 redeemed web's refresh token")
	}
	// Concurrent use of one token: see refresh_test.go.
}

func testClientCredentials(t *testing.T, e *env) {
	status, m := e.tokenPost(t, "api", apiSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}})
	if status != http.StatusOK || m["access_token"] == nil {
		t.Fatalf("client_credentials: %d %v", status, m)
	}
	at := m["access_token"].(string)
	status, m2 := e.postJSON(t, "/oauth/introspect", "api", apiSecret, url.Values{"token": {at}})
	if status != http.StatusOK || m2["active"] != true || m2["client_id"] != "api" || m2["scope"] != "api" {
		t.Errorf("introspection: %d %v", status, m2)
	}
	if status, m := e.tokenPost(t, "api", apiSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}); status != http.StatusBadRequest || m["error"] != "invalid_scope" {
		t.Errorf("scope outside the list: %d %v", status, m)
	}
	if status, m := e.tokenPost(t, "api", "not-the-secret", url.Values{"grant_type": {"client_credentials"}}); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Errorf("bad secret: %d %v", status, m)
	}
	if status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"client_credentials"}}); status == http.StatusOK {
		t.Errorf("client without the grant got a token: %v", m)
	}
	if status, m := e.tokenPost(t, "api", apiSecret, url.Values{"grant_type": {"password"}}); status != http.StatusBadRequest || m["error"] != "unsupported_grant_type" {
		t.Errorf("unknown grant: %d %v", status, m)
	}
	// Revocation by another client is refused; by the owner it works.
	if status, _ := e.postJSON(t, "/revoke", "web", webSecret, url.Values{"token": {at}}); status == http.StatusOK && !e.introspect(t, at) {
		t.Error("another client revoked api's token")
	}
	if status, m := e.postJSON(t, "/revoke", "api", apiSecret, url.Values{"token": {at}}); status != http.StatusOK {
		t.Errorf("revoke: %d %v", status, m)
	}
	if e.introspect(t, at) {
		t.Error("revoked token is active")
	}
	// JWT access tokens consult their record too.
	b := e.browser()
	tok, _ := e.signInFresh(t, b, "openid")
	if !e.introspect(t, tok.AccessToken) {
		t.Fatal("fresh JWT access token is not active")
	}
	if status, m := e.postJSON(t, "/revoke", "web", webSecret, url.Values{"token": {tok.AccessToken}}); status != http.StatusOK {
		t.Errorf("revoke JWT: %d %v", status, m)
	}
	if e.introspect(t, tok.AccessToken) {
		t.Error("revoked JWT access token introspects active")
	}
	if status, _ := e.postJSON(t, "/oauth/introspect", "", "", url.Values{"token": {tok.AccessToken}}); status != http.StatusUnauthorized {
		t.Errorf("unauthenticated introspection: %d", status)
	}
}

func testUserinfo(t *testing.T, e *env) {
	b := e.browser()
	tok, _ := e.signInFresh(t, b, "openid email profile")
	r := e.rp("web", webSecret, webCB, "openid", "email", "profile")
	ui, err := rp.Userinfo[*oidc.UserInfo](t.Context(), tok.AccessToken, "Bearer", e.user.ID, r)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if ui.Email != e.user.Email || ui.Name != "Alice" || ui.Subject != e.user.ID {
		t.Errorf("userinfo %+v", ui)
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](t.Context(), "garbage", "Bearer", e.user.ID, r); err == nil {
		t.Error("userinfo accepted a garbage token")
	}
}

func testEndSession(t *testing.T, e *env) {
	b := e.browser()
	tok, _ := e.signInFresh(t, b, "openid offline_access")
	// Unregistered post_logout_redirect_uri: an error page, never a redirect.
	bad := url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1/evil/"}}
	if p := b.get(e.cfg.Issuer + "/end_session?" + bad.Encode()); p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
		t.Errorf("bad post_logout_redirect_uri: %d %q", p.status, p.header.Get("Location"))
	}
	// No hint: a confirmation page, the session survives.
	p := b.get(e.cfg.Issuer + "/end_session")
	if p.status != http.StatusOK || p.doc == nil {
		t.Fatalf("end_session without hint: %d", p.status)
	}
	formInputs(t, p.doc, "/end_session")
	a := newAuthz("web", webCB, "openid")
	e.code(t, b.get(a.url(e.cfg.Issuer)), a)
	// A forged hint: confirmation page too.
	forged := url.Values{"id_token_hint": {tok.IDToken[:len(tok.IDToken)-4] + "AAAA"}, "post_logout_redirect_uri": {webHome}, "client_id": {"web"}}
	if p := b.get(e.cfg.Issuer + "/end_session?" + forged.Encode()); p.status != http.StatusOK || p.header.Get("Location") != "" {
		t.Errorf("forged hint: %d %q", p.status, p.header.Get("Location"))
	}
	// Valid hint: signed out, back to the client with state.
	good := url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {webHome}, "state": {"s1"}}
	loc := b.get(e.cfg.Issuer + "/end_session?" + good.Encode()).location(t)
	if loc.String() != webHome+"?state=s1" {
		t.Errorf("redirected to %s", loc)
	}
	a2 := newAuthz("web", webCB, "openid")
	if p := b.get(a2.url(e.cfg.Issuer)); !p.hasLoginForm() {
		t.Errorf("after sign-out the login form is not shown (status %d)", p.status)
	}
	if status, _ := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); status == http.StatusOK {
		t.Error("refresh token of an ended session still works")
	}
	if e.introspect(t, tok.AccessToken) {
		t.Error("access token of an ended session is active")
	}
	// A confirmation posted from another site signs nobody out.
	e.signInFresh(t, b, "openid")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.cfg.Issuer+"/end_session",
		strings.NewReader(url.Values{"confirm": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.do(req); !p.hasForm("/end_session") {
		t.Errorf("cross-site confirmation: status %d, want the confirmation page again", p.status)
	}
	a4 := newAuthz("web", webCB, "openid")
	e.code(t, b.get(a4.url(e.cfg.Issuer)), a4) // still signed in
	// Confirming a request without a hint returns to the client with state.
	ask := url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {webHome}, "state": {"s2"}}
	confirm := b.get(e.cfg.Issuer + "/end_session?" + ask.Encode())
	hidden, _ := formInputs(t, confirm.doc, "/end_session")
	form := url.Values{}
	for k, v := range hidden {
		form.Set(k, v)
	}
	if form.Get("post_logout_redirect_uri") != webHome || form.Get("state") != "s2" || form.Get("confirm") != "yes" {
		t.Errorf("confirmation form carries %v", form)
	}
	if loc := b.post(e.cfg.Issuer+"/end_session", form, e.cfg.Issuer).location(t); loc.String() != webHome+"?state=s2" {
		t.Errorf("after confirming, redirected to %s", loc)
	}
	// Confirmed sign-out from the provider's own page.
	if p := b.post(e.cfg.Issuer+"/end_session", url.Values{"confirm": {"yes"}}, e.cfg.Issuer); p.status != http.StatusOK {
		t.Errorf("confirmed sign-out: %d", p.status)
	} else if p.hasForm("/end_session") {
		t.Errorf("confirmed sign-out shows the confirmation again: %s", textOf(p))
	}
	a3 := newAuthz("web", webCB, "openid")
	if p := b.get(a3.url(e.cfg.Issuer)); !p.hasLoginForm() {
		t.Error("after confirmed sign-out the login form is not shown")
	}
}

func testCrossSite(t *testing.T, e *env) {
	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	p := b.get(a.url(e.cfg.Issuer))
	vals, _ := formInputs(t, p.doc, "/login")
	form := url.Values{"id": {vals["id"]}, "email": {e.user.Email}, "password": {userPass}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.cfg.Issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := b.do(req); r.status != http.StatusForbidden {
		t.Errorf("cross-site login POST: status %d, want 403", r.status)
	}
	// Security headers on pages.
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"} {
		if p.header.Get(h) == "" {
			t.Errorf("login page lacks %s", h)
		}
	}
	if !strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Error("CSP without frame-ancestors 'none'")
	}
	// Token responses are not cacheable.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, e.cfg.Issuer+"/oauth/token",
		strings.NewReader("grant_type=client_credentials&scope=api"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("api", apiSecret)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

func testDiscovery(t *testing.T, e *env) {
	r := e.rp("web", webSecret, webCB, "openid")
	if r.GetEndSessionEndpoint() != e.cfg.Issuer+"/end_session" {
		t.Errorf("end_session_endpoint %q", r.GetEndSessionEndpoint())
	}
	_, m := getJSON(t, e.cfg.Issuer+"/.well-known/openid-configuration")
	for _, field := range []string{"authorization_response_iss_parameter_supported", "backchannel_logout_supported",
		"backchannel_logout_session_supported", "frontchannel_logout_supported", "frontchannel_logout_session_supported"} {
		if m[field] != true {
			t.Errorf("discovery: %s = %v, want true", field, m[field])
		}
	}
	if got := m["code_challenge_methods_supported"]; len(got.([]any)) != 1 || got.([]any)[0] != "S256" {
		t.Errorf("code_challenge_methods_supported %v", got)
	}
	if got := fmt.Sprint(m["acr_values_supported"]); got != "[urn:sekisho:acr:pwd urn:sekisho:acr:pwd+email-otp urn:sekisho:acr:mfa urn:sekisho:acr:passkey urn:sekisho:acr:legacy]" {
		t.Errorf("acr_values_supported %s", got)
	}
	_, keys := getJSON(t, e.cfg.Issuer+"/keys")
	if ks, _ := keys["keys"].([]any); len(ks) != 1 {
		t.Errorf("JWKS has %d keys, want 1", len(ks))
	}
}

func testExpiredRequest(t *testing.T, e *env) {
	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	p := b.get(a.url(e.cfg.Issuer))
	e.clock.add(31 * time.Minute)
	r := b.signIn(p, e.user.Email, userPass)
	if r.status != http.StatusGone || r.header.Get("Location") != "" {
		t.Fatalf("expired sign-in: status %d location %q", r.status, r.header.Get("Location"))
	}
	if len(htmltest.Find(r.doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "a") && htmltest.Attr(n, "href") == webHome
	})) == 0 {
		t.Error("the expired page has no link back to the application")
	}
}

func testThrottle(t *testing.T, e *env) {
	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	p := b.get(a.url(e.cfg.Issuer))
	for range e.cfg.Throttle.FreeFailures {
		if r := b.signIn(p, e.user.Email, "Wrong-password-1!"); r.status != http.StatusOK || !r.hasLoginForm() {
			t.Fatalf("wrong password: %d", r.status)
		}
	}
	// During the delay even the right password gets the ordinary answer.
	if r := b.signIn(p, e.user.Email, userPass); !r.hasLoginForm() {
		t.Errorf("throttled sign-in went through (status %d)", r.status)
	}
	e.clock.add(e.cfg.Throttle.MaxDelay.D() + time.Second)
	e.code(t, b.signIn(p, e.user.Email, userPass), a)
	// The throttle was per account: another account is not affected.
	b2 := e.browser()
	a2 := newAuthz("web", webCB, "openid")
	e.code(t, b2.signIn(b2.get(a2.url(e.cfg.Issuer)), e.other.Email, otherPass), a2)
}

func testDisabledUser(t *testing.T, e *env) {
	b := e.browser()
	tok, _ := e.signInFresh(t, b, "openid offline_access")
	now := time.Now().UTC()
	if _, err := e.store.UpdateUser(t.Context(), e.user.ID, func(u storage.User) (storage.User, error) {
		u.Disabled = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.EndSessions(t.Context(), storage.SessionEnd{UserID: e.user.ID, Now: now,
		Reason: storage.EndDisabled, RevokeAllTokens: true}); err != nil {
		t.Fatal(err)
	}
	if e.introspect(t, tok.AccessToken) {
		t.Error("a disabled user's access token is active")
	}
	if status, _ := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}); status == http.StatusOK {
		t.Error("a disabled user's refresh token works")
	}
	a := newAuthz("web", webCB, "openid")
	p := b.get(a.url(e.cfg.Issuer))
	if !p.hasLoginForm() {
		t.Fatalf("disabled user's browser skipped the form: %d", p.status)
	}
	if r := b.signIn(p, e.user.Email, userPass); !r.hasLoginForm() {
		t.Error("a disabled user signed in")
	}
}
