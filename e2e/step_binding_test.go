package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

// The steps after the password (the emailed code, the forced change) and
// the reset steps stay with the browser that started them: their ticket
// and request id, sent from another browser with the right code, are
// refused like an expired step, and the owner's browser still completes.
func TestStepsBoundToTheBrowser(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, func(c *config.Config) { c.Clients[0].OTP = config.OTPAlways })
		e.run()

		t.Run("emailed code", func(t *testing.T) {
			owner, thief := e.browser(), e.browser()
			p, a := e.startLogin(owner, false)
			if !p.hasForm("/login/otp") {
				t.Fatalf("no code step (status %d)", p.status)
			}
			code := loginCode(t, smtp, e.user.Email, 1)
			if r := thief.submitOTP(t, p, code); !r.hasLoginForm() || !strings.Contains(alertText(r), "expired") {
				t.Fatalf("the right code from another browser: status %d, alert %q; want the expired-step page", r.status, alertText(r))
			}
			if r := thief.resendOTP(t, p); !r.hasLoginForm() || countTo(smtp, e.user.Email, "sign-in code") != 1 {
				t.Errorf("a resend from another browser: status %d, %d code mails", r.status, countTo(smtp, e.user.Email, "sign-in code"))
			}
			// Nothing was spent or counted: the owner completes.
			wantAMR(t, e.tokensFor(t, owner.submitOTP(t, p, code), a), "pwd", "otp")
		})

		t.Run("forced change", func(t *testing.T) {
			if _, err := e.store.UpdateUser(t.Context(), e.other.ID, func(u storage.User) (storage.User, error) {
				u.MustChangePassword = true
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
			owner, thief := e.browser(), e.browser()
			a := newAuthz("web2", web2CB, "openid")
			p := owner.signIn(owner.get(a.url(e.cfg.Issuer)), e.other.Email, otherPass)
			if !p.hasForm("/login/password") {
				t.Fatalf("no change page (status %d)", p.status)
			}
			vals, _ := formInputs(t, p.doc, "/login/password")
			change := func(b *browser, pw string) page {
				return b.post(e.cfg.Issuer+"/login/password", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]},
					"password": {pw}, "confirm": {pw}}, e.cfg.Issuer)
			}
			if r := change(thief, "Thief-chosen-1!"); !r.hasLoginForm() || !strings.Contains(alertText(r), "expired") {
				t.Fatalf("the change from another browser: status %d, alert %q", r.status, alertText(r))
			}
			if u, _ := e.store.GetUser(t.Context(), e.other.ID); !u.MustChangePassword || u.PasswordHash != e.other.PasswordHash {
				t.Fatal("another browser changed the password")
			}
			if _, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid"), e.code(t, change(owner, newPass), a), a); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("password reset", func(t *testing.T) {
			owner, thief := e.browser(), e.browser()
			a := newAuthz("web2", web2CB, "openid")
			p := owner.forgot(t, a, e.user.Email)
			code := mailtest.Code(mailsTo(t, smtp, e.user.Email, "password reset code", 1)[0].Text)
			if r := thief.submitReset(t, p, code, "Thief-chosen-1!", "Thief-chosen-1!"); !r.hasForm("/reset/verify") ||
				!strings.Contains(alertText(r), "wrong") {
				t.Fatalf("the right reset code from another browser: status %d, alert %q", r.status, alertText(r))
			}
			if u, _ := e.store.GetUser(t.Context(), e.user.ID); u.PasswordHash != e.user.PasswordHash {
				t.Fatal("another browser reset the password")
			}
			r := owner.submitReset(t, p, code, newPass, newPass)
			if _, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid"), e.code(t, r, a), a); err != nil {
				t.Fatal(err)
			}
		})
	})
}
