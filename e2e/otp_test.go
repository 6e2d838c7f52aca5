package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

const acrEmailCode = "urn:sekisho:acr:pwd+email-otp"

// mailsTo waits until at least n messages went to addr whose subject
// contains subject, and returns them, oldest first.
func mailsTo(t *testing.T, smtp *mailtest.Server, addr, subject string, n int) []mailtest.Received {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		var out []mailtest.Received
		for _, m := range smtp.Messages() {
			if mailtest.To(addr)(m) && strings.Contains(m.Subject, subject) {
				out = append(out, m)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails to %s about %q, want %d", len(out), addr, subject, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countTo counts the messages so far to addr whose subject contains
// subject.
func countTo(smtp *mailtest.Server, addr, subject string) int {
	n := 0
	for _, m := range smtp.Messages() {
		if mailtest.To(addr)(m) && strings.Contains(m.Subject, subject) {
			n++
		}
	}
	return n
}

// loginCode is the code of the n-th sign-in code mail to addr.
func loginCode(t *testing.T, smtp *mailtest.Server, addr string, n int) string {
	t.Helper()
	code := mailtest.Code(mailsTo(t, smtp, addr, "sign-in code", n)[n-1].Text)
	if code == "" {
		t.Fatal("no code in the sign-in code mail")
	}
	return code
}

// submitOTP posts the code form of the step page p.
func (b *browser) submitOTP(t *testing.T, p page, code string) page {
	t.Helper()
	vals, inputs := formInputs(t, p.doc, "/login/otp")
	for _, in := range inputs {
		if in["name"] == "code" && in["autocomplete"] != "one-time-code" {
			t.Errorf("code input: autocomplete %q, want one-time-code", in["autocomplete"])
		}
	}
	return b.post(b.e.cfg.Issuer+"/login/otp", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}, "code": {code}}, b.e.cfg.Issuer)
}

// resendOTP presses "send a new code" on the step page p.
func (b *browser) resendOTP(t *testing.T, p page) page {
	t.Helper()
	vals, _ := formInputs(t, p.doc, "/login/otp/resend")
	return b.post(b.e.cfg.Issuer+"/login/otp/resend", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}}, b.e.cfg.Issuer)
}

// tokensFor exchanges the code of a finished sign-in for client web.
func (e *env) tokensFor(t *testing.T, p page, a *authz) *oidc.Tokens[*oidc.IDTokenClaims] {
	t.Helper()
	tok, err := e.exchange(t, e.rp("web", webSecret, webCB, strings.Fields(a.scope)...), e.code(t, p, a), a)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok
}

func wantAMR(t *testing.T, tok *oidc.Tokens[*oidc.IDTokenClaims], amr ...string) {
	t.Helper()
	got := tok.IDTokenClaims.AuthenticationMethodsReferences
	if strings.Join(got, " ") != strings.Join(amr, " ") {
		t.Errorf("amr = %v, want %v", got, amr)
	}
	acr := "urn:sekisho:acr:pwd"
	if len(amr) == 2 {
		acr = acrEmailCode
	}
	if tok.IDTokenClaims.AuthenticationContextClassReference != acr {
		t.Errorf("acr = %q, want %q", tok.IDTokenClaims.AuthenticationContextClassReference, acr)
	}
}

// startLogin opens a new sign-in for client web (prompt=login when
// forced) and submits alice's password.
func (e *env) startLogin(b *browser, forced bool) (page, *authz) {
	a := newAuthz("web", webCB, "openid email")
	if forced {
		a.extra.Set("prompt", "login")
	}
	return b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a
}

func withOTP(policy string) func(*config.Config) {
	return func(c *config.Config) { c.OTP.Policy = policy }
}

// TestOTPPolicies: each otp.policy, and a client that requires the step.
func TestOTPPolicies(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		t.Run("off", func(t *testing.T) {
			e := newEnvSMTP(t, newStore(t), smtp, withOTP("off"), func(c *config.Config) { c.Clients[1].OTP = "always" })
			e.run()
			b := e.browser()
			p, a := e.startLogin(b, false)
			wantAMR(t, e.tokensFor(t, p, a), "pwd")
			// web2 requires the step: the session without it cannot answer
			// prompt=none, and a sign-in asks for the code.
			a2 := newAuthz("web2", web2CB, "openid")
			a2.extra.Set("prompt", "none")
			if q := b.get(a2.url(e.cfg.Issuer)).location(t).Query(); q.Get("error") != "interaction_required" {
				t.Errorf("prompt=none for a client requiring the step: error %q", q.Get("error"))
			}
			a3 := newAuthz("web2", web2CB, "openid")
			step := b.signIn(b.get(a3.url(e.cfg.Issuer)), e.user.Email, userPass)
			if !step.hasForm("/login/otp") {
				t.Fatalf("web2 sign-in: no code step (status %d)", step.status)
			}
			done := b.submitOTP(t, step, loginCode(t, smtp, e.user.Email, 1))
			tok, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid"), e.code(t, done, a3), a3)
			if err != nil {
				t.Fatal(err)
			}
			wantAMR(t, tok, "pwd", "otp")
		})
		t.Run("always", func(t *testing.T) {
			smtp := startSMTP(t)
			e := newEnvSMTP(t, newStore(t), smtp, withOTP("always"))
			e.run()
			b := e.browser()
			step, a := e.startLogin(b, false)
			text := htmltest.Text(step.doc)
			if !step.hasForm("/login/otp") || !strings.Contains(text, "a***@example.com") || !strings.Contains(text, "5 minutes") ||
				strings.Contains(text, e.user.Email) {
				t.Fatalf("step page: %.400s", text)
			}
			tok := e.tokensFor(t, b.submitOTP(t, step, loginCode(t, smtp, e.user.Email, 1)), a)
			wantAMR(t, tok, "pwd", "otp")
			// The session passed the step: SSO answers without it.
			a2 := newAuthz("web", webCB, "openid")
			a2.extra.Set("prompt", "none")
			wantAMR(t, e.tokensFor(t, b.get(a2.url(e.cfg.Issuer)), a2), "pwd", "otp")
			// Always means always: the same browser is asked again.
			if again, _ := e.startLogin(b, true); !again.hasForm("/login/otp") {
				t.Error("policy always: a second sign-in skipped the step")
			}
		})
		t.Run("optional", func(t *testing.T) {
			smtp := startSMTP(t)
			e := newEnvSMTP(t, newStore(t), smtp, withOTP("optional"))
			e.run()
			b := e.browser()
			p, a := e.startLogin(b, false)
			wantAMR(t, e.tokensFor(t, p, a), "pwd")
			// The user turns the step on at /account.
			acct := b.get(e.cfg.Issuer + "/account")
			if !acct.hasForm("/account/otp#otp") {
				t.Fatalf("account page without the switch (status %d)", acct.status)
			}
			b.post(e.cfg.Issuer+"/account/otp", url.Values{"otp": {"on"}}, e.cfg.Issuer)
			step, a2 := e.startLogin(b, true)
			if !step.hasForm("/login/otp") {
				t.Fatal("the step was not asked after the user turned it on")
			}
			wantAMR(t, e.tokensFor(t, b.submitOTP(t, step, loginCode(t, smtp, e.user.Email, 1)), a2), "pwd", "otp")
			// Bob did not turn it on.
			bb := e.browser()
			ab := newAuthz("web", webCB, "openid")
			e.code(t, bb.signIn(bb.get(ab.url(e.cfg.Issuer)), e.other.Email, otherPass), ab)
		})
		t.Run("new_device", func(t *testing.T) {
			smtp := startSMTP(t)
			e := newEnvSMTP(t, newStore(t), smtp, withOTP("new_device"), func(c *config.Config) { c.Notify.Login = "new_device" })
			e.run()
			b := e.browser()
			step, a := e.startLogin(b, false)
			if !step.hasForm("/login/otp") {
				t.Fatal("a new browser was not asked for the code")
			}
			wantAMR(t, e.tokensFor(t, b.submitOTP(t, step, loginCode(t, smtp, e.user.Email, 1)), a), "pwd", "otp")
			// The device cookie: the same browser skips the step next time.
			p, a2 := e.startLogin(b, true)
			wantAMR(t, e.tokensFor(t, p, a2), "pwd")
			// Another browser is asked.
			other := e.browser()
			if p, _ := e.startLogin(other, false); !p.hasForm("/login/otp") {
				t.Error("another browser skipped the step")
			}
			// Sign-in mails: one for the first browser, none for its second
			// sign-in, the other browser's mail comes once it passes.
			mailsTo(t, smtp, e.user.Email, "New sign-in", 1)
			time.Sleep(300 * time.Millisecond)
			if n := countTo(smtp, e.user.Email, "New sign-in"); n != 1 {
				t.Errorf("%d sign-in mails, want 1 (the known browser's second sign-in sends none)", n)
			}
			m := mailsTo(t, smtp, e.user.Email, "New sign-in", 1)[0]
			if !strings.Contains(m.Text, "127.0.0.1") || !strings.Contains(m.Text, "curl") && !strings.Contains(m.Text, "?") {
				t.Errorf("sign-in mail without time, IP or browser: %.300s", m.Text)
			}
		})
	})
}

// TestOTPCodes: wrong codes, expiry, resend cooldown, an older code after
// a resend, and a replayed code. (The account's cap of wrong codes an
// hour is raised: TestOTPAccountCap covers it.)
func TestOTPCodes(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withOTP("always"), func(c *config.Config) { c.OTP.MaxFailuresPerHour = 100 })
		e.run()
		wrongFor := func(code string) string {
			if code == "000000" {
				return "111111"
			}
			return "000000"
		}

		t.Run("five wrong codes end the step", func(t *testing.T) {
			b := e.browser()
			n := countTo(smtp, e.user.Email, "sign-in code") + 1
			step, _ := e.startLogin(b, false)
			code := loginCode(t, smtp, e.user.Email, n)
			for i := 1; i <= 5; i++ {
				r := b.submitOTP(t, step, wrongFor(code))
				if i < 5 && (!r.hasForm("/login/otp") || !strings.Contains(alertText(r), "wrong")) {
					t.Fatalf("wrong code %d: %q", i, alertText(r))
				}
				if i == 5 && (!r.hasLoginForm() || !strings.Contains(alertText(r), "too many")) {
					t.Fatalf("fifth wrong code: want the sign-in form with an explanation, got %q", alertText(r))
				}
			}
			if r := b.submitOTP(t, step, code); r.status >= 300 && r.status < 400 {
				t.Error("the right code worked after five wrong ones")
			}
		})

		t.Run("expired code, resend, older code, replay", func(t *testing.T) {
			b := e.browser()
			n := countTo(smtp, e.user.Email, "sign-in code") + 1
			step, a := e.startLogin(b, false)
			first := loginCode(t, smtp, e.user.Email, n)
			// Two wrong tries before the resend.
			for range 2 {
				b.submitOTP(t, step, wrongFor(first))
			}
			// Too soon for another mail.
			if r := b.resendOTP(t, step); r.status != http.StatusTooManyRequests || !strings.Contains(alertText(r), "Please wait 30 s") {
				t.Errorf("immediate resend: status %d %q, want 429 and the wait", r.status, alertText(r))
			}
			if got := countTo(smtp, e.user.Email, "sign-in code"); got != n {
				t.Errorf("a resend within the cooldown sent a mail")
			}
			// After 6 minutes the code has expired.
			e.clock.add(6 * time.Minute)
			if r := b.submitOTP(t, step, first); !r.hasForm("/login/otp") || !strings.Contains(alertText(r), "expired") {
				t.Errorf("expired code: %q", alertText(r))
			}
			r := b.resendOTP(t, step)
			if r.status != http.StatusOK || !r.hasForm("/login/otp") {
				t.Fatalf("resend: status %d", r.status)
			}
			second := loginCode(t, smtp, e.user.Email, n+1)
			// The older code no longer works, and counts as a wrong try:
			// with the two before, that is three.
			if second != first {
				if r := b.submitOTP(t, r, first); !strings.Contains(alertText(r), "wrong") {
					t.Errorf("older code after a resend: %q", alertText(r))
				}
			} else {
				b.submitOTP(t, r, wrongFor(second))
			}
			b.submitOTP(t, r, wrongFor(second)) // four
			done := b.submitOTP(t, r, second)   // the right one, before the fifth wrong
			tok := e.tokensFor(t, done, a)
			wantAMR(t, tok, "pwd", "otp")
			// A replayed code signs nothing in.
			if again := b.submitOTP(t, r, second); again.status >= 300 && again.status < 400 {
				t.Errorf("a replayed code answered with a redirect to %s", again.header.Get("Location"))
			}
		})

		t.Run("failures survive a resend", func(t *testing.T) {
			b := e.browser()
			n := countTo(smtp, e.user.Email, "sign-in code") + 1
			step, _ := e.startLogin(b, false)
			first := loginCode(t, smtp, e.user.Email, n)
			for range 4 {
				b.submitOTP(t, step, wrongFor(first))
			}
			e.clock.add(31 * time.Second)
			r := b.resendOTP(t, step)
			second := loginCode(t, smtp, e.user.Email, n+1)
			if last := b.submitOTP(t, r, wrongFor(second)); !last.hasLoginForm() {
				t.Errorf("the fifth wrong try (after a resend) did not end the step: %q", alertText(last))
			}
		})
	})
}

// TestForcedPasswordChange: a flagged user chooses a new password after
// signing in (and after the emailed step), before reaching the app.
func TestForcedPasswordChange(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, func(c *config.Config) { c.Clients[1].OTP = "always" })
		e.run()
		flag := func() {
			if _, err := e.store.UpdateUser(t.Context(), e.user.ID, func(u storage.User) (storage.User, error) {
				u.MustChangePassword = true
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		flag()
		b := e.browser()
		p, a := e.startLogin(b, false)
		if !p.hasForm("/login/password") {
			t.Fatalf("no change page after signing in (status %d): %.300s", p.status, htmltest.Text(p.doc))
		}
		submit := func(p page, pw, confirm string) page {
			vals, inputs := formInputs(t, p.doc, "/login/password")
			for _, in := range inputs {
				if (in["name"] == "password" || in["name"] == "confirm") && in["autocomplete"] != "new-password" {
					t.Errorf("input %s: autocomplete %q", in["name"], in["autocomplete"])
				}
			}
			return b.post(e.cfg.Issuer+"/login/password", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]},
				"account": {vals["account"]}, "password": {pw}, "confirm": {confirm}}, e.cfg.Issuer)
		}
		// The form names the account for password managers.
		if _, inputs := formInputs(t, p.doc, "/login/password"); !hasManagerName(inputs, e.user.Email) {
			t.Errorf("the change form does not name the account: %v", inputs)
		}
		// The current password is refused; every broken rule is listed.
		if r := submit(p, userPass, userPass); !strings.Contains(alertText(r), "current") {
			t.Errorf("the current password: %q", alertText(r))
		}
		if r := submit(p, "short", "short"); !strings.Contains(alertText(r), "upper-case") || !strings.Contains(alertText(r), "symbol") {
			t.Errorf("violations: %q", alertText(r))
		}
		if r := submit(p, newPass, newPass+"x"); !strings.Contains(alertText(r), "not the same") ||
			!strings.Contains(htmltest.Text(r.byID("confirm-error")), "not the same") {
			t.Errorf("mismatch: %q", alertText(r))
		} else if _, inputs := formInputs(t, r.doc, "/login/password"); !hasManagerName(inputs, e.user.Email) {
			t.Errorf("after a mismatch the change form does not name the account: %v", inputs)
		}
		wantAMR(t, e.tokensFor(t, submit(p, newPass, newPass), a), "pwd")
		if u, _ := e.store.GetUser(t.Context(), e.user.ID); u.MustChangePassword {
			t.Error("the flag stayed")
		}
		mailsTo(t, smtp, e.user.Email, "password was changed", 1)
		// The ticket is spent.
		if r := submit(p, "Other-pass-77!", "Other-pass-77!"); r.status >= 300 && r.status < 400 {
			t.Error("the change page worked twice")
		}

		// With the emailed step (web2 requires it): password, code, change.
		flag()
		b2 := e.browser()
		a2 := newAuthz("web2", web2CB, "openid")
		step := b2.signIn(b2.get(a2.url(e.cfg.Issuer)), e.user.Email, newPass)
		change := b2.submitOTP(t, step, loginCode(t, smtp, e.user.Email, 1))
		if !change.hasForm("/login/password") {
			t.Fatalf("no change page after the code (status %d)", change.status)
		}
		vals, _ := formInputs(t, change.doc, "/login/password")
		done := b2.post(e.cfg.Issuer+"/login/password", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]},
			"password": {"Third-pass-55!"}, "confirm": {"Third-pass-55!"}}, e.cfg.Issuer)
		tok, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid"), e.code(t, done, a2), a2)
		if err != nil {
			t.Fatal(err)
		}
		wantAMR(t, tok, "pwd", "otp")
	})
}
