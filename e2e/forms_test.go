package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// scriptCSP is what the pages that load forms.js add to the policy.
const scriptCSP = "script-src 'self'"

// byID is the element of p with the id, or nil.
func (p page) byID(id string) *html.Node {
	if p.doc == nil {
		return nil
	}
	found := htmltest.Find(p.doc, func(n *html.Node) bool { return n.Type == html.ElementNode && htmltest.Attr(n, "id") == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// TestFormPages: the pages with password fields or the resend countdown,
// and only they, may run our script (served from our origin); the code
// step renders the cooldown's seconds left, and a press that comes too
// early (no script) is answered with the cooldown message; the reset form
// names the account for password managers and keeps the code and the
// account when the password is refused.
func TestFormPages(t *testing.T) {
	smtp := startSMTP(t)
	e := newEnvSMTP(t, gormstoretest.NewSQLite(t), smtp, withOTP("always"))
	e.run()
	b := e.browser()

	// Pages without password fields: no script.
	for _, path := range []string{"/login?id=unknown", "/reset?id=unknown", "/.well-known/openid-configuration"} {
		if p := b.get(e.cfg.Issuer + path); strings.Contains(p.header.Get("Content-Security-Policy"), "script-src") {
			t.Errorf("%s: CSP %q", path, p.header.Get("Content-Security-Policy"))
		}
	}
	script := b.get(e.cfg.Issuer + "/static/forms.js")
	if script.status != http.StatusOK || !strings.Contains(script.header.Get("Content-Type"), "javascript") ||
		!strings.Contains(script.body, "aria-pressed") {
		t.Errorf("forms.js: %d %q", script.status, script.header.Get("Content-Type"))
	}

	// The sign-in form and the code step load it.
	login := b.get(newAuthz("web", webCB, "openid email").url(e.cfg.Issuer))
	otp := b.signIn(login, e.user.Email, userPass)
	for name, p := range map[string]page{"sign-in": login, "code step": otp} {
		if csp := p.header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; "+scriptCSP) || strings.Count(csp, "script-src") != 1 {
			t.Errorf("%s: CSP %q", name, csp)
		}
	}
	resend := otp.byID("resend")
	if resend == nil || htmltest.Attr(resend, "aria-disabled") != "true" || htmltest.Attr(resend, "data-resend-in") != "30" ||
		!strings.Contains(htmltest.Text(otp.byID("resend-wait")), "in 30 s.") {
		t.Fatalf("the code step's resend button during the cooldown: %v", resend)
	}
	e.clock.add(12 * time.Second)
	early := b.resendOTP(t, otp)
	if early.status != http.StatusTooManyRequests || !strings.Contains(alertText(early), "wait 18 s before") ||
		htmltest.Attr(early.byID("resend"), "data-resend-in") != "18" {
		t.Errorf("an early resend: %d %q, data-resend-in %q", early.status, alertText(early), htmltest.Attr(early.byID("resend"), "data-resend-in"))
	}
	e.clock.add(18 * time.Second)
	resent := b.resendOTP(t, otp)
	if resent.status != http.StatusOK || resent.byID("otp-resent") == nil || htmltest.Attr(resent.byID("resend"), "data-resend-in") != "30" {
		t.Errorf("a resend after the cooldown: %d, data-resend-in %q", resent.status, htmltest.Attr(resent.byID("resend"), "data-resend-in"))
	}

	// The reset form names the account and keeps the code.
	rb := e.browser()
	reset := rb.forgot(t, newAuthz("web", webCB, "openid"), e.user.Email)
	if csp := reset.header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; "+scriptCSP) {
		t.Errorf("reset: CSP %q", csp)
	}
	vals, inputs := formInputs(t, reset.doc, "/reset/verify")
	if !hasManagerName(inputs, e.user.Email) {
		t.Errorf("reset form inputs %v: no hidden username %q", inputs, e.user.Email)
	}
	code := mailtest.Code(mailsTo(t, smtp, e.user.Email, "password reset code", 1)[0].Text)
	refused := rb.post(e.cfg.Issuer+"/reset/verify", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}, "account": {vals["account"]},
		"code": {code}, "password": {"short"}, "confirm": {"short"}}, e.cfg.Issuer)
	_, inputs = formInputs(t, refused.doc, "/reset/verify")
	kept := map[string]string{}
	for _, in := range inputs {
		kept[in["name"]] = in["value"]
	}
	if kept["code"] != code || kept["password"] != "" || !hasManagerName(inputs, e.user.Email) {
		t.Errorf("after a refused password: %v", kept)
	}
	if v := refused.byID("password-violations"); v == nil || !strings.Contains(htmltest.Text(v), "upper-case") ||
		htmltest.Attr(refused.byID("password"), "aria-describedby") != "password-violations" {
		t.Errorf("the broken rules are not under the password: %q", alertText(refused))
	}
}

// hasManagerName reports whether inputs hold a hidden username field
// with name as its value.
func hasManagerName(inputs []map[string]string, name string) bool {
	for _, in := range inputs {
		if _, hidden := in["hidden"]; hidden && in["autocomplete"] == "username" && in["value"] == name && in["type"] == "text" {
			return true
		}
	}
	return false
}

// js evaluates expr in the tab.
func js[T any](p *person, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// reveal is the state of a password field and its show-password button.
type reveal struct {
	Type, Autocomplete, Text, Label, Pressed string
}

func (p *person) reveal(id string) reveal {
	p.t.Helper()
	return reveal{
		Type:         js[string](p, fmt.Sprintf(`document.getElementById(%q).type`, id)),
		Autocomplete: js[string](p, fmt.Sprintf(`document.getElementById(%q).getAttribute("autocomplete")`, id)),
		Text:         js[string](p, fmt.Sprintf(`document.getElementById(%q).textContent`, id+"-reveal")),
		Label:        js[string](p, fmt.Sprintf(`document.getElementById(%q).getAttribute("aria-label")`, id+"-reveal")),
		Pressed:      js[string](p, fmt.Sprintf(`document.getElementById(%q).getAttribute("aria-pressed")`, id+"-reveal")),
	}
}

// TestBrowserShowPassword drives the show-password button in chromium, on
// the sign-in form in both languages and on the reset form's two new
// password fields: a click and the keyboard (Tab from the field, then
// Enter or Space) switch the field's type, the button's text, its label
// and aria-pressed, and leave autocomplete alone; what was typed stays.
// With SEKISHO_SCREENSHOTS set it saves the sign-in form with the
// password shown.
func TestBrowserShowPassword(t *testing.T) {
	browser := newChromium(t)
	smtp := startSMTP(t)
	e := newEnvSMTP(t, gormstoretest.NewSQLite(t), smtp)
	e.run()
	texts := map[string]struct{ show, hide, showLabel, hideLabel string }{
		"en": {"Show", "Hide", "Show password", "Hide password"},
		"ja": {"表示", "非表示", "パスワードを表示", "パスワードを非表示"},
	}
	alice := newPerson(t, browser, e.cfg.Issuer)
	for _, lang := range []string{"ja", "en"} {
		txt := texts[lang]
		alice.signInForm(lang)
		hidden := reveal{"password", "current-password", txt.show, txt.showLabel, "false"}
		shown := reveal{"text", "current-password", txt.hide, txt.hideLabel, "true"}
		if got := alice.reveal("password"); got != hidden {
			t.Fatalf("%s: before: %+v, want %+v", lang, got, hidden)
		}
		if got := js[string](alice, `document.getElementById("password-reveal").type`); got != "button" {
			t.Errorf("%s: the toggle's type = %q, want button", lang, got)
		}
		alice.typeInto("#password", "typed-1")
		alice.click("#password-reveal")
		if got := alice.reveal("password"); got != shown {
			t.Errorf("%s: after a click: %+v, want %+v", lang, got, shown)
		}
		alice.shootHere("signin-password-shown", lang)
		// The keyboard: Tab from the field reaches the button; Enter and
		// Space press it.
		if err := chromedp.Do(alice.ctx, chromedp.Focus(chromedp.CSS("#password")), chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		if got := js[string](alice, `document.activeElement.id`); got != "password-reveal" {
			t.Fatalf("%s: Tab from the password reaches %q", lang, got)
		}
		if err := chromedp.Do(alice.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		if got := alice.reveal("password"); got != hidden {
			t.Errorf("%s: after Enter: %+v, want %+v", lang, got, hidden)
		}
		if err := chromedp.Do(alice.ctx, chromedp.KeyEvent(" ")); err != nil {
			t.Fatal(err)
		}
		if got := alice.reveal("password"); got != shown {
			t.Errorf("%s: after Space: %+v, want %+v", lang, got, shown)
		}
		if got := js[string](alice, `document.getElementById("password").value`); got != "typed-1" {
			t.Errorf("%s: the typed password became %q", lang, got)
		}
		// The toggle never submits: still on the sign-in form.
		if !strings.HasPrefix(alice.path(), "/login?") {
			t.Errorf("%s: the toggle left the form for %s", lang, alice.path())
		}
	}

	// The reset form: each new-password field has its own button.
	alice.signInForm("en")
	alice.press(`a[href^="/reset?id="]`)
	alice.typeInto("#email", e.user.Email)
	alice.press(`form[action="/reset"] button[type="submit"]`)
	for _, id := range []string{"password", "confirm"} {
		if got, want := alice.reveal(id), (reveal{"password", "new-password", "Show", "Show password", "false"}); got != want {
			t.Errorf("reset %s: %+v, want %+v", id, got, want)
		}
	}
	alice.click("#confirm-reveal")
	if got := alice.reveal("confirm"); got.Type != "text" || got.Autocomplete != "new-password" || got.Pressed != "true" {
		t.Errorf("reset confirm after a click: %+v", got)
	}
	if got := alice.reveal("password"); got.Type != "password" {
		t.Errorf("the confirmation's button showed the password: %+v", got)
	}
	if n := alice.count(`input[autocomplete="username"][hidden]`); n != 1 {
		t.Errorf("the reset form has %d hidden username fields", n)
	}
	// A refused password: the code stays, the broken rules stand under
	// the new password, and each field has its button again.
	code := mailtest.Code(mailsTo(t, smtp, e.user.Email, "password reset code", 1)[0].Text)
	alice.typeInto("#code", code)
	alice.typeInto("#password", "short")
	alice.typeInto("#confirm", "short")
	alice.press(`form[action="/reset/verify"] button[type="submit"]`)
	if got := js[string](alice, `document.getElementById("code").value`); got != code || alice.count("#password-violations li") < 3 ||
		alice.count(".reveal") != 2 {
		t.Errorf("after a refused password: code %q, %d broken rules, %d buttons", got, alice.count("#password-violations li"), alice.count(".reveal"))
	}
	alice.shootHere("reset-refused", "en")
}

// TestBrowserResendCountdown drives the code step in chromium with a 6 s
// cooldown: the resend button starts disabled with the seconds counting
// down, pressing it then sends nothing, at zero it is enabled and the
// countdown sentence goes, and a press sends a new code and starts the
// countdown again. With SEKISHO_SCREENSHOTS set it saves the code step
// during the countdown, at both widths.
func TestBrowserResendCountdown(t *testing.T) {
	browser := newChromium(t)
	smtp := startSMTP(t)
	e := newEnvSMTP(t, gormstoretest.NewSQLite(t), smtp, withOTP("always"),
		func(c *config.Config) { c.OTP.ResendCooldown = config.Duration(6 * time.Second) })
	e.run()
	subjects := map[string]string{"en": "sign-in code", "ja": "確認コード"}
	for _, lang := range []string{"ja", "en"} {
		subject := subjects[lang]
		alice := newPerson(t, browser, e.cfg.Issuer)
		alice.signInForm(lang)
		before := countTo(smtp, e.user.Email, subject)
		if status := alice.signIn(e.user.Email, userPass); status != http.StatusOK || alice.count("#resend") != 1 {
			t.Fatalf("%s: after the password: %d at %s", lang, status, alice.path())
		}
		mailsTo(t, smtp, e.user.Email, subject, before+1)
		if got := js[string](alice, `document.getElementById("resend").getAttribute("aria-disabled")`); got != "true" {
			t.Fatalf("%s: the resend button at first: aria-disabled %q", lang, got)
		}
		first := alice.text("#resend-wait")
		if !strings.ContainsAny(first, "3456") {
			t.Errorf("%s: the countdown says %q", lang, first)
		}
		alice.shootHere("otp-countdown", lang)
		// Pressing it during the countdown sends nothing.
		alice.click("#resend")
		time.Sleep(300 * time.Millisecond)
		if n := countTo(smtp, e.user.Email, subject); n != before+1 || alice.count("#otp-resent") != 0 {
			t.Errorf("%s: a press during the countdown: %d mails, resent notice %d", lang, n-before, alice.count("#otp-resent"))
		}
		// It counts down, then the button is enabled.
		var seen []string
		deadline := time.Now().Add(10 * time.Second)
		for js[bool](alice, `document.getElementById("resend").hasAttribute("aria-disabled")`) {
			if s := alice.text("#resend-wait"); len(seen) == 0 || seen[len(seen)-1] != s {
				seen = append(seen, s)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the button is still disabled after 10 s more: %q", lang, seen)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(seen) < 2 {
			t.Errorf("%s: the countdown did not count: %q", lang, seen)
		}
		if !js[bool](alice, `document.getElementById("resend-wait").hidden`) {
			t.Errorf("%s: the countdown stays after it ended: %q", lang, alice.text("#resend-wait"))
		}
		// Now a press sends a new code, and the countdown starts again.
		if status := alice.press("#resend"); status != http.StatusOK || alice.count("#otp-resent") != 1 {
			t.Fatalf("%s: resend after the countdown: %d, %q", lang, status, alice.text("main"))
		}
		mailsTo(t, smtp, e.user.Email, subject, before+2)
		if got := js[string](alice, `document.getElementById("resend").getAttribute("aria-disabled")`); got != "true" {
			t.Errorf("%s: after a resend the button is not disabled again", lang)
		}
	}
}
