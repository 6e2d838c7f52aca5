package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// With the database gone, /readyz turns unready, our pages answer 503 with
// a readable page, and the token endpoint 503 temporarily_unavailable;
// /healthz stays up (the process is alive).
func TestDatabaseUnreachable(t *testing.T) {
	st := gormstoretest.NewSQLite(t)
	e := newEnv(t, st)
	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	login := b.get(a.url(e.cfg.Issuer))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if p := b.get(e.cfg.Issuer + "/readyz"); p.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d, want 503", p.status)
	}
	if p := b.get(e.cfg.Issuer + "/healthz"); p.status != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", p.status)
	}
	if p := b.signIn(login, e.user.Email, userPass); p.status != http.StatusServiceUnavailable || p.doc == nil {
		t.Errorf("login POST: %d, want a 503 page", p.status)
	}
	status, m := e.tokenPost(t, "api", apiSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}})
	if status != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" {
		t.Errorf("token endpoint: %d %v, want 503 temporarily_unavailable", status, m)
	}
}
