package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// TestBrowserAccount drives the account page in chromium at a phone's
// width: the page fits the screen (nothing scrolls sideways), the other
// device is listed with its applications, and a form sent with a wrong
// password opens at that form with its message on screen. With
// SEKISHO_SCREENSHOTS set it saves the page in both languages and widths.
func TestBrowserAccount(t *testing.T) {
	browser := newChromium(t)
	e := newEnv(t, gormstoretest.NewSQLite(t), logoutClients(newLogoutRP(t, 0), newLogoutRP(t, 0), "http://127.0.0.1:9/fc"))
	e.run()
	// A phone signed in to two applications.
	phone := e.browser()
	phone.ua = uaPhone
	e.signInApps(t, phone, e.user.Email, userPass, "bc-a", "bc-b")

	alice := newPerson(t, browser, e.cfg.Issuer)
	alice.emulate(devices[1])
	alice.open("/account")
	if status := alice.signIn(e.user.Email, userPass); status != http.StatusOK || alice.path() != "/account" {
		t.Fatalf("sign in to the account page: %d at %s", status, alice.path())
	}
	alice.open("/account?lang=ja")
	if got := alice.text("#sessions-title"); got != "ログイン中の端末" {
		t.Errorf("sessions heading %q", got)
	}
	if got := alice.text(".device:not(.current) .device-name"); got != "Safari (iOS)" {
		t.Errorf("the phone is listed as %q", got)
	}
	if got := alice.text(".device:not(.current) .apps"); !strings.Contains(got, "BC-A") || !strings.Contains(got, "BC-B") {
		t.Errorf("the phone's applications: %q", got)
	}
	wide, err := chromedp.Run(alice.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("the account page scrolls sideways on a phone (%v)", err)
	}

	// A wrong password in the email form: the answer opens at that form.
	alice.typeInto("#new-email", "new@example.com")
	alice.typeInto("#email-current-password", "wrong-password")
	if status := alice.press(`#email button[type="submit"]`); status != http.StatusOK {
		t.Fatalf("email form: status %d", status)
	}
	if got := alice.text("#email-error"); got != "現在のパスワードが正しくありません。" {
		t.Errorf("email form error %q", got)
	}
	onScreen, err := chromedp.Run(alice.ctx, chromedp.Evaluate[bool](`(() => {
		const r = document.getElementById("email-error").getBoundingClientRect();
		return location.hash === "#email" && r.top >= 0 && r.bottom <= window.innerHeight;
	})()`))
	if err != nil || !onScreen {
		t.Errorf("after the failed email form the error is not on screen (%v)", err)
	}

	alice.shoot("account", "/account")
}
