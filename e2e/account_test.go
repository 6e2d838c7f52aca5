package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

// openAccount opens /account in b, signing in as email when asked, and
// returns the account page.
func (e *env) openAccount(t *testing.T, b *browser, email, pw string) page {
	t.Helper()
	p := b.get(e.cfg.Issuer + "/account")
	if p.hasLoginForm() {
		p = b.signIn(p, email, pw)
	}
	if p.status != http.StatusOK || p.url.Path != "/account" || !strings.Contains(htmltest.Text(p.doc), email) {
		t.Fatalf("account page: status %d at %s: %.300s", p.status, p.url, htmltest.Text(p.doc))
	}
	return p
}

func noticeText(p page) string { return roleText(p, "status") }

// TestAccountPage: sign-in to the account page, recent sign-ins, password
// change (other sessions end), sign out everywhere.
func TestAccountPage(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		// Another browser holds a session and a refresh token.
		other := e.browser()
		otherTok, _ := e.signInFresh(t, other, "openid offline_access")

		b := e.browser()
		p := e.openAccount(t, b, e.user.Email, userPass)
		if rows := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "td") }); len(rows) == 0 ||
			!strings.Contains(htmltest.Text(p.doc), "127.0.0.1") {
			t.Error("no recent sign-ins listed")
		}
		change := func(current, pw, confirm string) page {
			vals, inputs := formInputs(t, p.doc, "/account/password#password")
			want := map[string]string{"current_password": "current-password", "password": "new-password", "confirm": "new-password"}
			for _, in := range inputs {
				if w := want[in["name"]]; w != "" && in["autocomplete"] != w {
					t.Errorf("input %s: autocomplete %q, want %q", in["name"], in["autocomplete"], w)
				}
			}
			// The form names the account for password managers.
			if !hasManagerName(inputs, e.user.Email) {
				t.Errorf("the password form does not name the account: %v", inputs)
			}
			_ = vals
			return b.post(e.cfg.Issuer+"/account/password", url.Values{"current_password": {current}, "password": {pw}, "confirm": {confirm}}, e.cfg.Issuer)
		}
		if r := change("wrong-password", newPass, newPass); !strings.Contains(htmltest.Text(r.byID("current-password-error")), "current password is wrong") {
			t.Errorf("wrong current password: %q", alertText(r))
		}
		if r := change(userPass, "short", "short"); !strings.Contains(alertText(r), "upper-case") {
			t.Errorf("policy: %q", alertText(r))
		}
		// A cross-site form post changes nothing.
		if r := b.post(e.cfg.Issuer+"/account/password", url.Values{"current_password": {userPass}, "password": {newPass}, "confirm": {newPass}},
			"https://evil.example"); r.status != http.StatusForbidden {
			t.Errorf("cross-site password change: status %d", r.status)
		}
		if r := change(userPass, newPass, newPass); !strings.Contains(noticeText(r), "password was changed") {
			t.Fatalf("change: notice %q alert %q", noticeText(r), alertText(r))
		}
		mailsTo(t, smtp, e.user.Email, "password was changed", 1)
		// The other session ended (its refresh token fails); this one stays.
		if status, _ := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {otherTok.RefreshToken}}); status == http.StatusOK {
			t.Error("another session's refresh token works after the password change")
		}
		e.openAccount(t, b, e.user.Email, newPass)
		fresh := e.browser()
		if r := fresh.signIn(fresh.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), e.user.Email, userPass); !r.hasLoginForm() {
			t.Error("the old password still works")
		}

		// Sign out everywhere: this session ends too.
		tok, _ := e.signInFresh2(t, b)
		r := b.post(e.cfg.Issuer+"/account/logout-all", url.Values{}, e.cfg.Issuer)
		if r.status != http.StatusOK || r.hasForm("/account/logout-all") {
			t.Fatalf("sign out everywhere: status %d", r.status)
		}
		if again := b.get(e.cfg.Issuer + "/account"); !again.hasLoginForm() {
			t.Error("still signed in after signing out everywhere")
		}
		if e.introspect(t, tok.AccessToken) {
			t.Error("an access token is active after signing out everywhere")
		}
	})
}

// signInFresh2 signs alice in to web in b with the new password.
func (e *env) signInFresh2(t *testing.T, b *browser) (tokenPair, *authz) {
	t.Helper()
	a := newAuthz("web", webCB, "openid")
	p := b.get(a.url(e.cfg.Issuer))
	if p.hasLoginForm() {
		p = b.signIn(p, e.user.Email, newPass)
	}
	tok := e.tokensFor(t, p, a)
	return tokenPair{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}, a
}

type tokenPair struct{ AccessToken, RefreshToken string }

// TestEmailVerification: changing the address (link to the new one,
// notice to the old one once changed), links opened signed in and signed
// out, expired and reused links, an address of another account.
func TestEmailVerification(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		b := e.browser()
		p := e.openAccount(t, b, e.user.Email, userPass)
		_, inputs := formInputs(t, p.doc, "/account/email#email")
		for _, in := range inputs {
			if w := map[string]string{"email": "email", "current_password": "current-password"}[in["name"]]; w != "" && in["autocomplete"] != w {
				t.Errorf("email form input %s: autocomplete %q", in["name"], in["autocomplete"])
			}
		}
		for addr, want := range map[string]string{"not an address": "valid email", "ALICE@example.com": "already your address"} {
			r := b.post(e.cfg.Issuer+"/account/email", url.Values{"email": {addr}, "current_password": {userPass}}, e.cfg.Issuer)
			if !strings.Contains(alertText(r), want) {
				t.Errorf("email change to %q: alert %q, want %q", addr, alertText(r), want)
			}
		}
		if r := b.post(e.cfg.Issuer+"/account/email", url.Values{"email": {"x@example.com"}, "current_password": {"wrong"}}, e.cfg.Issuer); !strings.Contains(alertText(r), "current password is wrong") {
			t.Errorf("email change with a wrong password: %q", alertText(r))
		}
		const newAddr = "alice.new@example.com"
		r := b.post(e.cfg.Issuer+"/account/email", url.Values{"email": {newAddr}, "current_password": {userPass}}, e.cfg.Issuer)
		if !strings.Contains(noticeText(r), newAddr) {
			t.Fatalf("email change: notice %q alert %q", noticeText(r), alertText(r))
		}
		link := mailtest.Link(mailsTo(t, smtp, newAddr, "Confirm your email", 1)[0].Text, e.cfg.Issuer+"/email/verify?")
		if link == "" {
			t.Fatal("no link in the verification mail")
		}
		// Until verified, the old address stays.
		a := newAuthz("web", webCB, "openid")
		e.code(t, e.browser().signIn(e.browser().get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a)
		if countTo(smtp, e.user.Email, "address of your") != 0 {
			t.Error("the old address heard of a change that has not happened")
		}

		// Opened signed in: done; the old address hears of it.
		done := b.get(link)
		if done.status != http.StatusOK || !strings.Contains(htmltest.Text(done.doc), newAddr) {
			t.Fatalf("verification: status %d %.300s", done.status, htmltest.Text(done.doc))
		}
		if n := mailsTo(t, smtp, e.user.Email, "address of your", 1)[0]; !strings.Contains(n.Text, "a***@example.com") {
			t.Errorf("notice to the old address does not name the new one masked: %.300s", n.Text)
		}
		// Tokens: the new address, verified.
		fresh := e.browser()
		a2 := newAuthz("web", webCB, "openid email")
		tok := e.tokensFor(t, fresh.signIn(fresh.get(a2.url(e.cfg.Issuer)), newAddr, userPass), a2)
		if tok.IDTokenClaims.Email != newAddr || !bool(tok.IDTokenClaims.EmailVerified) {
			t.Errorf("ID token: email %q verified %v", tok.IDTokenClaims.Email, tok.IDTokenClaims.EmailVerified)
		}
		old := e.browser()
		if r := old.signIn(old.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), e.user.Email, userPass); !r.hasLoginForm() {
			t.Error("the old address still signs in")
		}
		// Reused: a clear message and the way to a new link.
		if again := b.get(link); again.status != http.StatusGone || !strings.Contains(htmltest.Text(again.doc), "expired or was already used") ||
			len(htmltest.Find(again.doc, func(n *html.Node) bool { return htmltest.Attr(n, "href") == "/account" })) == 0 {
			t.Errorf("reused link: status %d %.300s", again.status, htmltest.Text(again.doc))
		}

		// Bob's address is not verified: a link from the account page,
		// opened in a signed-out browser, completes after sign-in.
		unverify := func() {
			if _, err := e.store.UpdateUser(t.Context(), e.other.ID, func(u storage.User) (storage.User, error) {
				u.EmailVerified = false
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		unverify()
		bb := e.browser()
		acct := e.openAccount(t, bb, e.other.Email, otherPass)
		if !acct.hasForm("/account/verify#profile") {
			t.Fatal("no verification button for an unverified address")
		}
		bb.post(e.cfg.Issuer+"/account/verify", url.Values{}, e.cfg.Issuer)
		bobLink := mailtest.Link(mailsTo(t, smtp, e.other.Email, "Confirm your email", 1)[0].Text, e.cfg.Issuer+"/email/verify?")
		out := e.browser()
		login := out.get(bobLink)
		if !login.hasLoginForm() {
			t.Fatalf("a signed-out link does not ask to sign in (status %d)", login.status)
		}
		fin := out.signIn(login, e.other.Email, otherPass)
		if fin.status != http.StatusOK || fin.url.Path != "/email/verify" || !strings.Contains(htmltest.Text(fin.doc), e.other.Email) {
			t.Errorf("after sign-in: status %d at %s %.300s", fin.status, fin.url, htmltest.Text(fin.doc))
		}
		if u, _ := e.store.GetUser(t.Context(), e.other.ID); !u.EmailVerified {
			t.Error("bob is not verified")
		}
		for _, row := range []string{"sekisho_verify", "token"} {
			if strings.Contains(fin.url.RawQuery, row) {
				t.Errorf("the link's token travelled through the sign-in URL: %s", fin.url)
			}
		}

		// Expired: 10 minutes.
		unverify()
		bb.post(e.cfg.Issuer+"/account/verify", url.Values{}, e.cfg.Issuer)
		late := mailtest.Link(mailsTo(t, smtp, e.other.Email, "Confirm your email", 2)[1].Text, e.cfg.Issuer+"/email/verify?")
		e.clock.add(11 * time.Minute)
		if r := bb.get(late); r.status != http.StatusGone {
			t.Errorf("expired link: status %d", r.status)
		}

		// An address that belongs to another account: the same answer, no mail.
		before := countTo(smtp, e.other.Email, "Confirm your email")
		r = b.post(e.cfg.Issuer+"/account/email", url.Values{"email": {e.other.Email}, "current_password": {userPass}}, e.cfg.Issuer)
		if !strings.Contains(noticeText(r), e.other.Email) {
			t.Errorf("taken address: notice %q alert %q (want the same answer)", noticeText(r), alertText(r))
		}
		time.Sleep(300 * time.Millisecond)
		if countTo(smtp, e.other.Email, "Confirm your email") != before {
			t.Error("a link went to another account's address")
		}
	})
}
