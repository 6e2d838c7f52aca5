package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
)

// totpCode is the authenticator app's code for the key an enrolment page
// showed (its grouped secret), at t.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(strings.ReplaceAll(secret, " ", ""), at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// recoveryCodes lists the recovery codes a page shows once.
func recoveryCodes(p page) []string {
	var out []string
	for _, ol := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == "recovery-codes" }) {
		for _, c := range htmltest.Find(ol, func(n *html.Node) bool { return htmltest.IsTag(n, "code") }) {
			out = append(out, htmltest.Text(c))
		}
	}
	return out
}

// enrolTOTP sets up an authenticator app on /account in b (signed in)
// and returns its secret and the recovery codes shown.
func (e *env) enrolTOTP(t *testing.T, b *browser) (string, []string) {
	t.Helper()
	acct := b.get(e.cfg.Issuer + "/account")
	if !acct.hasForm("/account/mfa/totp#mfa") {
		t.Fatalf("account page without the authenticator app's set-up (status %d)", acct.status)
	}
	p := b.post(e.cfg.Issuer+"/account/mfa/totp", url.Values{}, e.cfg.Issuer)
	secret := byID(p, "totp-secret")
	if secret == "" || !strings.HasPrefix(byIDAttr(p, "totp-qr", "src"), "data:image/png;base64,") ||
		!strings.HasPrefix(byIDAttr(p, "totp-uri", "href"), "otpauth://totp/") {
		t.Fatalf("enrolment page: %s", byID(p, "mfa"))
	}
	_, inputs := formInputs(t, p.doc, "/account/mfa/totp/confirm#mfa")
	for _, in := range inputs {
		if in["name"] == "code" && (in["autocomplete"] != "one-time-code" || in["inputmode"] != "numeric") {
			t.Errorf("code input %v", in)
		}
	}
	// A wrong code keeps the enrolment, with the same key.
	p = b.post(e.cfg.Issuer+"/account/mfa/totp/confirm", url.Values{"code": {"000000"}}, e.cfg.Issuer)
	if byID(p, "mfa-error") == "" || byID(p, "totp-secret") != secret {
		t.Fatalf("wrong first code: %.600s", htmltest.Text(p.doc))
	}
	p = b.post(e.cfg.Issuer+"/account/mfa/totp/confirm", url.Values{"code": {totpCode(t, secret, e.clock.now())}}, e.cfg.Issuer)
	codes := recoveryCodes(p)
	if byID(p, "mfa-notice") == "" || byID(p, "totp-state") == "" {
		t.Fatalf("confirmation: %.600s", htmltest.Text(p.doc))
	}
	return secret, codes
}

// byIDAttr is the attribute of the element with the id, or "".
func byIDAttr(p page, id, attr string) string {
	for _, n := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == id }) {
		return htmltest.Attr(n, attr)
	}
	return ""
}

// TestMFAAccount: an authenticator app set up on /account with its first
// code, the recovery codes shown once and renewed, removal of the last
// factor only after a confirmation, each change mailed and audited; an
// old session signs in again first.
func TestMFAAccount(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		b := e.browser()
		p, a := e.startLogin(b, false)
		e.tokensFor(t, p, a)

		_, codes := e.enrolTOTP(t, b)
		if len(codes) != 10 {
			t.Fatalf("recovery codes shown: %v, want 10", codes)
		}
		mailsTo(t, smtp, e.user.Email, "authenticator app was added", 1)
		acct := b.get(e.cfg.Issuer + "/account")
		if got := recoveryCodes(acct); len(got) != 0 {
			t.Errorf("recovery codes shown again: %v", got)
		}
		if !strings.Contains(byID(acct, "recovery-left"), "10") {
			t.Errorf("recovery codes left: %q", byID(acct, "recovery-left"))
		}
		// A second set-up is refused while one exists: the page offers removal only.
		if acct.hasForm("/account/mfa/totp#mfa") || !acct.hasForm("/account/mfa/totp/remove#mfa") {
			t.Error("account page offers a second authenticator app")
		}

		// New recovery codes: the old ones stop working.
		p = b.post(e.cfg.Issuer+"/account/mfa/recovery", url.Values{}, e.cfg.Issuer)
		renewed := recoveryCodes(p)
		if len(renewed) != 10 || renewed[0] == codes[0] {
			t.Fatalf("renewed codes %v", renewed)
		}
		mailsTo(t, smtp, e.user.Email, "New recovery codes", 1)

		// Removing the last factor asks first.
		p = b.post(e.cfg.Issuer+"/account/mfa/totp/remove", url.Values{}, e.cfg.Issuer)
		if !p.hasForm("/account/mfa/totp/remove#mfa") || byIDAttr(p, "totp-remove-confirm", "method") == "" {
			t.Fatalf("removal without confirmation: %.500s", htmltest.Text(p.doc))
		}
		if _, err := e.store.GetTOTP(t.Context(), e.user.ID); err != nil {
			t.Fatalf("factor removed without confirmation: %v", err)
		}
		b.post(e.cfg.Issuer+"/account/mfa/totp/remove", url.Values{"confirm": {"yes"}}, e.cfg.Issuer)
		if _, err := e.store.GetTOTP(t.Context(), e.user.ID); err == nil {
			t.Fatal("factor kept after a confirmed removal")
		}
		if n, _ := e.store.CountRecoveryCodes(t.Context(), e.user.ID); n != 0 {
			t.Errorf("%d recovery codes outlived the last factor", n)
		}
		mailsTo(t, smtp, e.user.Email, "authenticator app was removed", 1)
		events, _ := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: e.user.ID})
		kinds := map[string]int{}
		for _, ev := range events {
			kinds[ev.Type+"/"+ev.Detail]++
		}
		if kinds["mfa_enrol/totp"] != 1 || kinds["mfa_enrol/recovery"] != 1 || kinds["mfa_remove/totp"] != 1 {
			t.Errorf("audit events %v", kinds)
		}

		// An old session signs in again before a change.
		e.clock.add(e.cfg.MFA.MaxAge.D() + time.Minute)
		p = b.post(e.cfg.Issuer+"/account/mfa/totp", url.Values{}, e.cfg.Issuer)
		if !p.hasLoginForm() {
			t.Fatalf("an old session changed factors: status %d", p.status)
		}
	})
}
