package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

// TestRehashOnSignIn: a password hash made with weaker argon2id parameters
// than the configured ones is replaced by one with the configured
// parameters at the next successful sign-in; the password still works,
// and a current hash is left as it is.
func TestRehashOnSignIn(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		// The users are stored with m=8192,t=1 (env.addUser).
		e := newEnv(t, newStore(t), func(c *config.Config) {
			c.Password = config.Password{MemoryKiB: 9216, Iterations: 2, Parallelism: 1}
		})
		const weak, current = "$argon2id$v=19$m=8192,t=1,p=1$", "$argon2id$v=19$m=9216,t=2,p=1$"
		stored := func() string {
			t.Helper()
			u, err := e.store.GetUser(t.Context(), e.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			return u.PasswordHash
		}
		if h := stored(); !strings.HasPrefix(h, weak) {
			t.Fatalf("stored hash %.40s…, want the weaker parameters first", h)
		}
		// A wrong password changes nothing.
		b := e.browser()
		if p := b.signIn(b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), e.user.Email, otherPass); !p.hasLoginForm() {
			t.Fatalf("wrong password: status %d", p.status)
		}
		if h := stored(); !strings.HasPrefix(h, weak) {
			t.Errorf("a wrong password re-hashed: %.40s…", h)
		}
		e.signInFresh(t, e.browser(), "openid")
		rehashed := stored()
		if !strings.HasPrefix(rehashed, current) {
			t.Fatalf("after sign-in the hash is %.40s…, want the configured parameters %s", rehashed, current)
		}
		e.signInFresh(t, e.browser(), "openid") // the password still works
		if h := stored(); h != rehashed {
			t.Error("a sign-in with a current hash wrote a new one")
		}
	})
}

// TestLegacyHashOverBounds: a user imported with a hash costlier than the
// bounds (an earlier version accepted bcrypt up to cost 16) cannot be
// proved by it: any password gets the answer of a wrong one, like an
// unknown account, and no reset is offered on the spot; the password
// reset migrates them as any imported user.
func TestLegacyHashOverBounds(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withLegacy)
		e.run()
		// Cost 16 with a digest nobody can match: it is never computed.
		kei := e.importLegacyHash(t, "L-16", "kei@example.com", "$2b$16$SekishoSaltSekishoSalenvoOzPdYHR7Zq8G8LGWjwy18LwL0f.y")

		b := e.browser()
		a := newAuthz("web", webCB, "openid email")
		login := b.get(a.url(e.cfg.Issuer))
		unknown := b.signIn(login, "nobody@example.com", legacyPass)
		for _, pw := range []string{legacyPass, "not-it"} {
			p := b.signIn(login, kei.Email, pw)
			if p.status != unknown.status || alertText(p) != alertText(unknown) || !p.hasLoginForm() ||
				strings.Contains(p.body, "legacy-reset") {
				t.Errorf("over-bounds hash, password %q: status %d %q; want the answer to an unknown account: %d %q",
					pw, p.status, alertText(p), unknown.status, alertText(unknown))
			}
		}
		vals, _ := formInputs(t, login.doc, "/login")
		codePage := b.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {kei.Email}}, e.cfg.Issuer)
		done := b.submitReset(t, codePage, mailtest.Code(mailsTo(t, smtp, kei.Email, "password reset code", 1)[0].Text), newPass, newPass)
		if tok := e.tokensFor(t, done, a); tok.IDTokenClaims.Subject != kei.ID {
			t.Errorf("sub after the reset = %q, want %q", tok.IDTokenClaims.Subject, kei.ID)
		}
		if u, _ := e.store.GetUser(t.Context(), kei.ID); u.Imported() || u.LegacyHash != "" {
			t.Errorf("after the reset: %+v, want migrated", u)
		}
		fresh, a2 := e.browser(), newAuthz("web", webCB, "openid")
		e.code(t, fresh.signIn(fresh.get(a2.url(e.cfg.Issuer)), kei.Email, newPass), a2)
	})
}
