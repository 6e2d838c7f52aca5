package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// fitsWidth fails the test when the page p shows scrolls sideways.
func (p *person) fitsWidth(what string) {
	p.t.Helper()
	wide, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		p.t.Errorf("%s scrolls sideways (%v)", what, err)
	}
}

// TestBrowserMFA drives the strong factors in chromium, in both languages
// and at a phone's width: setting up an authenticator app on /account
// (QR code, key, first code, recovery codes), then the second-factor step
// of a sign-in and its recovery-code form. With SEKISHO_SCREENSHOTS set
// it saves those pages.
func TestBrowserMFA(t *testing.T) {
	browser := newChromium(t)
	e := newEnv(t, gormstoretest.NewSQLite(t))
	e.run()
	alice := newPerson(t, browser, e.cfg.Issuer)
	alice.open("/account")
	if status := alice.signIn(e.user.Email, userPass); status != http.StatusOK || alice.path() != "/account" {
		t.Fatalf("sign in to the account page: %d at %s", status, alice.path())
	}
	headings := map[string]string{"ja": "認証アプリ", "en": "Authenticator app"}
	for _, lang := range []string{"ja", "en"} {
		alice.emulate(devices[1])
		alice.open("/account?lang=" + lang)
		if got := alice.text("#mfa-title"); got != headings[lang] {
			t.Errorf("%s: section heading %q", lang, got)
		}
		alice.press("#totp-start button")
		if alice.text("#totp-secret") == "" {
			t.Fatalf("%s: no key shown", lang)
		}
		ok, err := chromedp.Run(alice.ctx, chromedp.Evaluate[bool](`(() => {
			const img = document.getElementById("totp-qr");
			return img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().right <= window.innerWidth;
		})()`))
		if err != nil || !ok {
			t.Errorf("%s: the QR code does not show within a phone's screen (%v)", lang, err)
		}
		alice.fitsWidth("the set-up on a phone")
		alice.shootHere("mfa-enrol", lang)
	}
	// The first code (the last set-up is in English).
	alice.emulate(devices[1])
	alice.typeInto("#totp-code", totpCode(t, alice.text("#totp-secret"), e.clock.now()))
	alice.press("#totp-confirm button")
	if got := alice.text("#recovery-codes"); strings.Count(got, "-") != 10 {
		t.Fatalf("recovery codes shown: %q", got)
	}
	alice.fitsWidth("the recovery codes on a phone")
	alice.shootHere("mfa-recovery-codes", "en")
	secret, err := e.store.GetTOTP(t.Context(), e.user.ID)
	if err != nil || !secret.Confirmed() {
		t.Fatalf("factor not confirmed: %v", err)
	}

	// Another browser signs in: the second-factor step after the password.
	bob := newPerson(t, browser, e.cfg.Issuer)
	a := newAuthz("web", webCB, "openid")
	bob.open(a.url(e.cfg.Issuer))
	bob.signIn(e.user.Email, userPass)
	if bob.text("#mfa-form") == "" {
		t.Fatalf("no second-factor step at %s", bob.path())
	}
	attrs, err := chromedp.Run(bob.ctx, chromedp.Evaluate[string](
		`(c => c.autocomplete + " " + c.inputMode)(document.querySelector("#mfa-form input[name=code]"))`))
	if err != nil || attrs != "one-time-code numeric" {
		t.Errorf("code input: %q (%v)", attrs, err)
	}
	titles := map[string]string{"ja": "ご本人確認", "en": "Confirm it is you"}
	for _, lang := range []string{"ja", "en"} {
		bob.emulate(devices[1])
		bob.press(`.lang-switch-form button[value="` + lang + `"]`)
		if got := bob.text("h1"); got != titles[lang] {
			t.Errorf("step title in %s: %q", lang, got)
		}
		bob.fitsWidth("the second-factor step on a phone")
		bob.shootHere("mfa-step", lang)
	}
	bob.press("#use-recovery")
	if bob.text(`label[for="code"]`) != "Recovery code" {
		t.Errorf("recovery form label %q", bob.text(`label[for="code"]`))
	}
	bob.shootHere("mfa-step-recovery", "en")
}
