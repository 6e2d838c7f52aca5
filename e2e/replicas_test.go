package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// Two provider instances on one PostgreSQL database act as one server:
// sign in on the first, redeem the code and refresh on the second.
func TestTwoReplicasOnePostgres(t *testing.T) {
	dsn := gormstoretest.PostgresDSN(t)
	open := func() *gormstore.Store { return openPostgres(t, dsn) }
	a := newEnv(t, open())
	b := a.second(open())

	// Both publish the same single key.
	_, ka := getJSON(t, a.ts.URL+"/keys")
	_, kb := getJSON(t, b.ts.URL+"/keys")
	if len(ka["keys"].([]any)) != 1 || ka["keys"].([]any)[0].(map[string]any)["kid"] != kb["keys"].([]any)[0].(map[string]any)["kid"] {
		t.Fatalf("replicas publish different keys: %v / %v", ka, kb)
	}

	br := a.browser()
	az := newAuthz("web", webCB, "openid offline_access")
	code := a.code(t, br.signIn(br.get(az.url(a.cfg.Issuer)), a.user.Email, userPass), az)

	// Redeem on the second replica.
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webCB}, "code_verifier": {az.verifier}}
	status, tok := b.postTo(t, b.ts.URL, "/oauth/token", "web", webSecret, form)
	if status != http.StatusOK {
		t.Fatalf("code on replica 2: %d %v", status, tok)
	}
	// The code is single-use across replicas.
	if status, m := a.postTo(t, a.ts.URL, "/oauth/token", "web", webSecret, form); status != http.StatusBadRequest {
		t.Errorf("code replayed on replica 1: %d %v", status, m)
	}
	// Refresh on replica 2, then the rotated token on replica 1.
	status, r1 := b.postTo(t, b.ts.URL, "/oauth/token", "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	if status != http.StatusBadRequest {
		// The replay above revoked the family: that is the specified outcome.
		t.Errorf("refresh after code replay: %d %v, want invalid_grant (family revoked)", status, r1)
	}

	// A clean chain: sign in on 1, redeem on 2, refresh on 1 then 2.
	az2 := newAuthz("web", webCB, "openid offline_access")
	code2 := a.code(t, br.get(az2.url(a.cfg.Issuer)), az2)
	status, tok2 := b.postTo(t, b.ts.URL, "/oauth/token", "web", webSecret, url.Values{"grant_type": {"authorization_code"},
		"code": {code2}, "redirect_uri": {webCB}, "code_verifier": {az2.verifier}})
	if status != http.StatusOK {
		t.Fatalf("second code on replica 2: %d %v", status, tok2)
	}
	rt := tok2["refresh_token"].(string)
	for i, e := range []*env{a, b, a} {
		status, m := e.postTo(t, e.ts.URL, "/oauth/token", "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != http.StatusOK {
			t.Fatalf("refresh %d: %d %v", i, status, m)
		}
		rt = m["refresh_token"].(string)
		if !b.introspectAt(t, a.ts.URL, m["access_token"].(string)) {
			t.Errorf("refresh %d: access token not active on the other replica", i)
		}
	}
}
