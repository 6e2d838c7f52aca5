package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// value is the value of the input sel finds.
func (p *person) value(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {value: "?missing"}).value`, sel)))
	if err != nil {
		p.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

// lang is the page's language (<html lang>).
func (p *person) lang() string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// switchTo presses the language switch's button for lang and returns
// the status of the page it loads.
func (p *person) switchTo(lang string) int64 {
	p.t.Helper()
	return p.press(fmt.Sprintf(`nav.lang-switch button[value=%q]`, lang))
}

// TestBrowserFlows drives, in chromium, the flows that must not send a
// person back to the start. The language switch of the sign-in form keeps
// the typed address (not the password); the switch on the emailed-code
// step shows the same step in the other language with the typed code,
// and Enter in the code field still submits the code. An expired sign-in
// explains itself, and its button starts a new sign-in at the application
// (its initiate_login_uri). With SEKISHO_SCREENSHOTS set it saves the
// code step in Japanese.
func TestBrowserFlows(t *testing.T) {
	browser := newChromium(t)

	t.Run("language switch on the code step", func(t *testing.T) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, gormstoretest.NewSQLite(t), smtp, withOTP("always"))
		e.run()
		alice := newPerson(t, browser, e.cfg.Issuer)
		alice.signInForm("ja")
		alice.typeInto(`input[autocomplete="username"]`, e.user.Email)
		alice.typeInto(`input[autocomplete="current-password"]`, userPass)
		if status := alice.switchTo("en"); status != http.StatusOK || alice.lang() != "en" || alice.text("h1") != "Sign in" {
			t.Fatalf("the sign-in form's switch: %d, lang %q, h1 %q", status, alice.lang(), alice.text("h1"))
		}
		if got := alice.value(`input[autocomplete="username"]`); got != e.user.Email {
			t.Errorf("after the switch the address is %q, want the typed %q", got, e.user.Email)
		}
		if got := alice.value(`input[autocomplete="current-password"]`); got != "" {
			t.Errorf("after the switch the password field holds %d characters, want none", len(got))
		}
		if n := e.audited(t, e.user.ID, "login", "failure", "wrong_password"); n != 0 {
			t.Errorf("the switch counted %d wrong passwords", n)
		}

		alice.typeInto(`input[autocomplete="current-password"]`, userPass)
		if status := alice.press(`form[action="/login"] button[type="submit"]`); status != http.StatusOK || alice.count("#otp-form") != 1 {
			t.Fatalf("the code step: %d at %s: %q", status, alice.path(), alice.text("main"))
		}
		code := loginCode(t, smtp, e.user.Email, 1)
		alice.typeInto("#code", code)
		if status := alice.switchTo("ja"); status != http.StatusOK || alice.lang() != "ja" || alice.path() != "/login/otp" ||
			alice.text("h1") != "確認コードの入力" {
			t.Fatalf("the code step's switch: %d, lang %q at %s: %q", status, alice.lang(), alice.path(), alice.text("main"))
		}
		if alice.count("#otp-form") != 1 || alice.count(`input[autocomplete="current-password"]`) != 0 {
			t.Fatalf("the switch left the code step: %q", alice.text("main"))
		}
		if got := alice.value("#code"); got != code {
			t.Errorf("after the switch the code field holds %q, want the typed %q", got, code)
		}
		if got := alice.text("main"); !strings.Contains(got, "a***@example.com") {
			t.Errorf("the Japanese code step does not say where the code went: %q", got)
		}
		if n := countTo(smtp, e.user.Email, "sign-in code"); n != 1 {
			t.Errorf("%d code mails after the switch, want 1 (the switch sends none)", n)
		}
		alice.shootHere("signin-code", "ja")

		// Enter in the code field submits the code, not the switch.
		resp, err := chromedp.RunResponse(alice.ctx, chromedp.SendKeys("#code", kb.Enter))
		if err != nil || resp.Status != http.StatusOK || alice.path() != "/account" || alice.lang() != "ja" {
			t.Fatalf("Enter in the code field: %v at %s, lang %q: %q", err, alice.path(), alice.lang(), alice.text("main"))
		}
	})

	t.Run("expired sign-in starts again at the application", func(t *testing.T) {
		var issuer string
		var started []string
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/start" {
				http.NotFound(w, r)
				return
			}
			// The application's sign-in start: a new authorization request.
			started = append(started, r.URL.Query().Get("iss"))
			http.Redirect(w, r, newAuthz("web", webCB, "openid").url(issuer), http.StatusFound)
		}))
		t.Cleanup(app.Close)
		e := newEnv(t, gormstoretest.NewSQLite(t), func(c *config.Config) {
			for i := range c.Clients {
				if c.Clients[i].ID == "web" {
					c.Clients[i].InitiateLoginURI = app.URL + "/start"
				}
			}
		})
		issuer = e.cfg.Issuer
		e.run()
		bob := newPerson(t, browser, e.cfg.Issuer)
		if status := bob.open(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)); status != http.StatusOK || !strings.HasPrefix(bob.path(), "/login?id=") {
			t.Fatalf("the sign-in form: %d at %s", status, bob.path())
		}
		first := bob.path()
		bob.open(first + "&lang=ja")
		e.clock.add(31 * time.Minute)
		bob.typeInto(`input[autocomplete="username"]`, e.user.Email)
		bob.typeInto(`input[autocomplete="current-password"]`, userPass)
		if status := bob.press(`form[action="/login"] button[type="submit"]`); status != http.StatusGone ||
			bob.text("h1") != "ログインの有効期限が切れました" || !strings.Contains(bob.text("main"), "ログインに時間がかかったため") {
			t.Fatalf("the expired sign-in: %d: %q", status, bob.text("main"))
		}
		if got := bob.text("#error-back"); got != "「Web App」にもう一度ログインする" {
			t.Errorf("the button reads %q", got)
		}
		if status := bob.press("#error-back"); status != http.StatusOK || !strings.HasPrefix(bob.path(), "/login?id=") || bob.path() == first ||
			bob.count(`form[action="/login"] input[autocomplete="current-password"]`) != 1 {
			t.Fatalf("the button: %d at %s: %q", status, bob.path(), bob.text("main"))
		}
		if len(started) != 1 || started[0] != e.cfg.Issuer {
			t.Errorf("the application's start was opened with iss %q, want once with %q", started, e.cfg.Issuer)
		}
		// A request id that never existed: a readable page, not a bare 404.
		if status := bob.open("/login?id=no-such-request&lang=en"); status != http.StatusNotFound ||
			bob.text("h1") != "This sign-in page can no longer be used" || bob.count(`a[href="/"]`) != 1 {
			t.Errorf("an unknown request: %d: %q", status, bob.text("main"))
		}
	})
}
