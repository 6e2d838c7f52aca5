package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

// TestProductReset: a product links its user to sekisho's reset with
// client_id, login_hint and return_to; the reset form has the address
// filled in, the completed reset migrates the user and returns the
// browser to return_to, signed in. A return_to the client did not
// register is refused with a page, never followed.
func TestProductReset(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withLegacy)
		e.run()
		kei := e.importLegacy(t, "L-9", "kei@example.com")
		link := func(q url.Values) string { return e.cfg.Issuer + "/reset?" + q.Encode() }

		for _, tc := range []struct {
			name string
			q    url.Values
			text string
		}{
			{"unknown client", url.Values{"client_id": {"nope"}, "login_hint": {kei.Email}, "return_to": {webHome}}, "not registered"},
			{"unregistered return_to", url.Values{"client_id": {"web"}, "login_hint": {kei.Email}, "return_to": {"https://evil.example/"}}, "not registered"},
			{"another client's URI", url.Values{"client_id": {"web"}, "return_to": {web2CB}}, "not registered"},
			{"prefix of a registered URI", url.Values{"client_id": {"web"}, "return_to": {webCB + "/x"}}, "not registered"},
			{"no return_to", url.Values{"client_id": {"web"}, "login_hint": {kei.Email}}, "not registered"},
		} {
			p := e.browser().get(link(tc.q))
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(htmltest.Text(p.doc), tc.text) {
				t.Errorf("%s: status %d, Location %q, %.200s", tc.name, p.status, p.header.Get("Location"), htmltest.Text(p.doc))
			}
		}

		// From the product: the form with the address filled in, then the
		// code, then back to return_to (a post-logout URI here).
		b := e.browser()
		form := b.get(link(url.Values{"client_id": {"web"}, "login_hint": {kei.Email}, "return_to": {webHome}, "ui_locales": {"ja"}}))
		vals, inputs := formInputs(t, form.doc, "/reset")
		if form.status != http.StatusOK || vals["email"] != kei.Email || form.url.Path != "/reset" {
			t.Fatalf("reset form from the product: status %d at %s, email %q", form.status, form.url, vals["email"])
		}
		for _, in := range inputs {
			if in["name"] == "email" && in["autocomplete"] != "username" {
				t.Errorf("email input: autocomplete %q", in["autocomplete"])
			}
		}
		if !strings.Contains(form.body, `lang="ja"`) {
			t.Error("ui_locales=ja did not reach the page")
		}
		codePage := b.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {vals["email"]}}, e.cfg.Issuer)
		code := mailtest.Code(mailsTo(t, smtp, kei.Email, "", 1)[0].Text)
		done := b.submitReset(t, codePage, code, newPass, newPass)
		if got := done.location(t).String(); got != webHome {
			t.Fatalf("after the reset: redirected to %q, want %q", got, webHome)
		}
		if u, _ := e.store.GetUser(t.Context(), kei.ID); u.Imported() || u.MigratedAt == nil {
			t.Errorf("the product's reset did not migrate: %+v", u)
		}
		// Back at the product, its sign-in needs no password: the reset
		// signed the user in.
		a := newAuthz("web", webCB, "openid")
		tok := e.tokensFor(t, b.get(a.url(e.cfg.Issuer)), a)
		if tok.IDTokenClaims.Subject != kei.ID {
			t.Errorf("sub = %q, want %q", tok.IDTokenClaims.Subject, kei.ID)
		}

		// The redirect URI is a valid return_to too; and a reset link of
		// sekisho's own (no client) ends on the account page.
		b = e.browser()
		form = b.get(link(url.Values{"client_id": {"web"}, "return_to": {webCB}}))
		if vals, _ := formInputs(t, form.doc, "/reset"); form.status != http.StatusOK || vals["id"] == "" || vals["email"] != "" {
			t.Errorf("reset with the redirect URI: status %d, %v", form.status, vals)
		}
		b = e.browser()
		form = b.get(link(url.Values{"login_hint": {e.user.Email}}))
		vals, _ = formInputs(t, form.doc, "/reset")
		codePage = b.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {vals["email"]}}, e.cfg.Issuer)
		code = mailtest.Code(mailsTo(t, smtp, e.user.Email, "password reset code", 1)[0].Text)
		if acct := b.submitReset(t, codePage, code, newPass, newPass); acct.url.Path != "/account" || acct.status != http.StatusOK {
			t.Errorf("a reset of its own ended at %s (status %d)", acct.url, acct.status)
		}
	})
}
