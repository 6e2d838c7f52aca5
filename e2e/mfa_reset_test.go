package e2e

import (
	"testing"
	"time"

	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

// TestMFAAfterPasswordReset: a password reset by mail proves the mailbox,
// not the device, so it never removes a strong factor nor stands in for
// one: the sign-in the reset completes still asks for the authenticator
// app, and the app still works afterwards.
func TestMFAAfterPasswordReset(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		b := e.browser()
		e.startLogin(b, false)
		secret, _ := e.enrolTOTP(t, b)
		e.clock.add(2 * time.Minute)

		r := e.browser()
		a := newAuthz("web", webCB, "openid email")
		p := r.forgot(t, a, e.user.Email)
		code := mailtest.Code(mailsTo(t, smtp, e.user.Email, "password reset code", 1)[0].Text)
		done := r.submitReset(t, p, code, newPass, newPass)
		if !isMFAStep(done) {
			t.Fatalf("the sign-in after a password reset skipped the second factor: status %d at %s, location %s", done.status, done.url, done.header.Get("Location"))
		}
		if _, err := e.store.GetTOTP(t.Context(), e.user.ID); err != nil {
			t.Errorf("the reset removed the authenticator app: %v", err)
		}
		wantClaims(t, e.tokensFor(t, r.submitMFA(t, done, totpCode(t, secret, e.clock.now())), a), acrMFA, "pwd", "otp", "mfa")
	})
}
