package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
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

const acrMFA = "urn:sekisho:acr:mfa"

// submitMFA posts the code form of the second-factor step p.
func (b *browser) submitMFA(t *testing.T, p page, code string) page {
	t.Helper()
	vals, inputs := formInputs(t, p.doc, "/login/mfa")
	for _, in := range inputs {
		if in["name"] == "code" && in["autocomplete"] != "one-time-code" {
			t.Errorf("code input: autocomplete %q, want one-time-code", in["autocomplete"])
		}
		if in["name"] == "code" && vals["method"] != "recovery" && in["inputmode"] != "numeric" {
			t.Errorf("code input: inputmode %q, want numeric", in["inputmode"])
		}
	}
	return b.post(b.e.cfg.Issuer+"/login/mfa", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]},
		"method": {vals["method"]}, "code": {code}}, b.e.cfg.Issuer)
}

// showMethod presses "use …" on the step page p.
func (b *browser) showMethod(t *testing.T, p page, method string) page {
	t.Helper()
	vals, _ := formInputs(t, p.doc, "/login/mfa")
	return b.post(b.e.cfg.Issuer+"/login/mfa", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}, "show": {method}},
		b.e.cfg.Issuer)
}

func wantClaims(t *testing.T, tok *oidc.Tokens[*oidc.IDTokenClaims], acr string, amr ...string) {
	t.Helper()
	if got := tok.IDTokenClaims.AuthenticationMethodsReferences; strings.Join(got, " ") != strings.Join(amr, " ") {
		t.Errorf("amr = %v, want %v", got, amr)
	}
	if got := tok.IDTokenClaims.AuthenticationContextClassReference; got != acr {
		t.Errorf("acr = %q, want %q", got, acr)
	}
}

// isMFAStep reports whether p is the second-factor step.
func isMFAStep(p page) bool { return p.hasForm("/login/mfa") }

// TestMFASignIn: after the password, the authenticator app's code (one
// step either side of the clock accepted, two refused, each code once,
// wrong codes throttled), a recovery code instead (once, mailed); amr and
// acr in the ID token; the strong factor replaces the emailed code.
func TestMFASignIn(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withOTP("always"))
		e.run()
		b := e.browser()
		p, a := e.startLogin(b, false)
		tok := e.tokensFor(t, b.submitOTP(t, p, loginCode(t, smtp, e.user.Email, 1)), a)
		// The emailed code never yields mfa.
		wantClaims(t, tok, acrEmailCode, "pwd", "otp")
		secret, codes := e.enrolTOTP(t, b)

		signIn := func() (page, *authz) {
			t.Helper()
			e.clock.add(2 * time.Minute) // a new time step
			p, a := e.startLogin(b, true)
			if !isMFAStep(p) {
				t.Fatalf("no second-factor step after the password (status %d): %.300s", p.status, htmltest.Text(p.doc))
			}
			return p, a
		}
		// The strong factor replaces the emailed code (otp.policy always).
		p, a = signIn()
		mails := len(mailsTo(t, smtp, e.user.Email, "sign-in code", 1))
		code := totpCode(t, secret, e.clock.now())
		wantClaims(t, e.tokensFor(t, b.submitMFA(t, p, code), a), acrMFA, "pwd", "otp", "mfa")
		if n := len(mailsTo(t, smtp, e.user.Email, "sign-in code", 1)); n != mails {
			t.Errorf("an emailed code was sent besides the strong factor")
		}

		for _, c := range []struct {
			name  string
			skew  time.Duration
			right bool
		}{
			{"one step behind", -30 * time.Second, true},
			{"one step ahead", 30 * time.Second, true},
			{"two steps behind", -60 * time.Second, false},
			{"two steps ahead", 60 * time.Second, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				p, a := signIn()
				got := b.submitMFA(t, p, totpCode(t, secret, e.clock.now().Add(c.skew)))
				if !c.right {
					if !isMFAStep(got) || byID(got, "mfa-error") == "" {
						t.Fatalf("code %s accepted", c.name)
					}
					return
				}
				wantClaims(t, e.tokensFor(t, got, a), acrMFA, "pwd", "otp", "mfa")
			})
		}

		t.Run("same code twice", func(t *testing.T) {
			p, a := signIn()
			code := totpCode(t, secret, e.clock.now())
			e.tokensFor(t, b.submitMFA(t, p, code), a)
			p2, _ := e.startLogin(b, true) // the same time step
			if got := b.submitMFA(t, p2, code); !isMFAStep(got) || byID(got, "mfa-error") == "" {
				t.Fatal("a code was accepted twice")
			}
		})

		t.Run("wrong codes throttled", func(t *testing.T) {
			p, _ := signIn()
			var got page
			for i := range e.cfg.OTP.MaxFailures {
				got = b.submitMFA(t, p, "000000")
				if i < e.cfg.OTP.MaxFailures-1 && !isMFAStep(got) {
					t.Fatalf("try %d ended the step", i+1)
				}
			}
			// The last allowed wrong code ends the step: even the right
			// code is refused now, and the password is asked again.
			if !got.hasLoginForm() {
				t.Fatalf("after %d wrong codes: status %d", e.cfg.OTP.MaxFailures, got.status)
			}
			if again := b.submitMFA(t, p, totpCode(t, secret, e.clock.now())); isMFAStep(again) && byID(again, "mfa-error") == "" {
				t.Fatal("the right code passed an exhausted step")
			}
		})

		t.Run("recovery code", func(t *testing.T) {
			p, a := signIn()
			p = b.showMethod(t, p, "recovery")
			vals, _ := formInputs(t, p.doc, "/login/mfa")
			if vals["method"] != "recovery" {
				t.Fatalf("recovery form: %v", vals)
			}
			wantClaims(t, e.tokensFor(t, b.submitMFA(t, p, strings.ToUpper(codes[0])), a), acrMFA, "pwd", "otp", "mfa")
			m := mailsTo(t, smtp, e.user.Email, "recovery code was used", 1)
			if !strings.Contains(m[0].Text, "9") {
				t.Errorf("mail does not say 9 codes are left: %s", m[0].Text)
			}
			p, _ = signIn()
			p = b.showMethod(t, p, "recovery")
			if got := b.submitMFA(t, p, codes[0]); !isMFAStep(got) || byID(got, "mfa-error") == "" {
				t.Fatal("a recovery code was accepted twice")
			}
		})
	})
}

// TestMFAAccountThrottle: wrong authenticator codes count per account
// and hour, across steps, before they are checked: at the cap even the
// right code is refused, and the owner gets one mail.
func TestMFAAccountThrottle(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, func(c *config.Config) { c.OTP.MaxFailuresPerHour = 3 })
		e.run()
		b := e.browser()
		p, a := e.startLogin(b, false)
		e.tokensFor(t, p, a)
		secret, _ := e.enrolTOTP(t, b)
		e.clock.add(2 * time.Minute)
		// Two wrong codes at one step, one at another: the cap.
		step, _ := e.startLogin(b, true)
		b.submitMFA(t, step, "000000")
		b.submitMFA(t, step, "000000")
		step, _ = e.startLogin(b, true)
		if got := b.submitMFA(t, step, "000000"); got.status != http.StatusTooManyRequests {
			t.Fatalf("the third wrong code of the hour: status %d", got.status)
		}
		if got := b.submitMFA(t, step, totpCode(t, secret, e.clock.now())); got.status != http.StatusTooManyRequests {
			t.Fatalf("the right code at the cap: status %d", got.status)
		}
		mailsTo(t, smtp, e.user.Email, "Too many wrong codes", 1)
		e.clock.add(time.Hour)
		step, a = e.startLogin(b, true)
		wantClaims(t, e.tokensFor(t, b.submitMFA(t, step, totpCode(t, secret, e.clock.now())), a), acrMFA, "pwd", "otp", "mfa")
	})
}

// TestMFAPolicy: mfa.policy required (deployment, organization, client)
// makes a user without a factor set up an authenticator app at sign-in,
// see the recovery codes once and go on to the application; off asks
// nothing of a user who has one.
func TestMFAPolicy(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		enrolAtSignIn := func(t *testing.T, e *env, clientID, secretKey, cb string) {
			t.Helper()
			b := e.browser()
			a := newAuthz(clientID, cb, "openid")
			p := b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass)
			secret := byID(p, "totp-secret")
			if !isMFAStep(p) || secret == "" {
				t.Fatalf("no enrolment at sign-in: %.300s", htmltest.Text(p.doc))
			}
			p = b.submitMFA(t, p, totpCode(t, secret, e.clock.now()))
			if codes := recoveryCodes(p); len(codes) != 10 {
				t.Fatalf("recovery codes after enrolment: %v", codes)
			}
			next := byIDAttr(p, "mfa-continue", "href")
			tok, err := e.exchange(t, e.rp(clientID, secretKey, cb, "openid"), e.code(t, b.get(e.cfg.Issuer+next), a), a)
			if err != nil {
				t.Fatal(err)
			}
			wantClaims(t, tok, acrMFA, "pwd", "otp", "mfa")
		}
		t.Run("deployment", func(t *testing.T) {
			e := newEnvSMTP(t, newStore(t), smtp, func(c *config.Config) { c.MFA.Policy = "required" })
			e.run()
			enrolAtSignIn(t, e, "web", webSecret, webCB)
		})
		t.Run("organization", func(t *testing.T) {
			e := newEnvSMTP(t, newStore(t), smtp)
			e.run()
			if _, err := e.store.UpdateOrganization(t.Context(), storage.DefaultOrganizationID,
				func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
					o.MFAPolicy = "required"
					return o, nil, nil
				}); err != nil {
				t.Fatal(err)
			}
			enrolAtSignIn(t, e, "web", webSecret, webCB)
		})
		t.Run("client", func(t *testing.T) {
			e := newEnvSMTP(t, newStore(t), smtp, func(c *config.Config) { c.Clients[1].MFA = "required" })
			e.run()
			// The other client is not asked.
			b := e.browser()
			p, a := e.startLogin(b, false)
			wantClaims(t, e.tokensFor(t, p, a), "urn:sekisho:acr:pwd", "pwd")
			enrolAtSignIn(t, e, "web2", web2Secret, web2CB)
		})
		t.Run("off", func(t *testing.T) {
			e := newEnvSMTP(t, newStore(t), smtp, func(c *config.Config) { c.MFA.Policy = "off" })
			e.run()
			// A factor stored before the policy was turned off stays unused.
			ctx := t.Context()
			if err := e.store.CreateTOTP(ctx, storage.TOTPFactor{ID: "f1", UserID: e.user.ID, SecretSealed: []byte("x"),
				CreatedAt: e.clock.now()}); err != nil {
				t.Fatal(err)
			}
			if err := e.store.ConfirmTOTP(ctx, "f1", 1, storage.FactorChange{UserID: e.user.ID, Now: e.clock.now()}); err != nil {
				t.Fatal(err)
			}
			b := e.browser()
			p, a := e.startLogin(b, false)
			wantClaims(t, e.tokensFor(t, p, a), "urn:sekisho:acr:pwd", "pwd")
			if acct := b.get(e.cfg.Issuer + "/account"); byID(acct, "mfa") != "" {
				t.Error("the account page offers strong factors under policy off")
			}
		})
	})
}

// TestMFAStepUp: a request whose acr_values asks for the strong level
// that the SSO session lacks asks for the factor only (no password); the
// session then holds it, so SSO to another client does not ask again;
// prompt=none answers interaction_required; max_age still asks for the
// password.
func TestMFAStepUp(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		b := e.browser()
		p, a := e.startLogin(b, false)
		wantClaims(t, e.tokensFor(t, p, a), "urn:sekisho:acr:pwd", "pwd")
		secret, _ := e.enrolTOTP(t, b)
		e.clock.add(time.Minute)

		none := newAuthz("web", webCB, "openid")
		none.extra.Set("acr_values", acrMFA)
		none.extra.Set("prompt", "none")
		if loc := b.get(none.url(e.cfg.Issuer)).location(t); loc.Query().Get("error") != "interaction_required" {
			t.Errorf("prompt=none with an unsatisfied acr: %s", loc)
		}

		up := newAuthz("web", webCB, "openid offline_access")
		up.extra.Set("acr_values", "urn:example:unknown "+acrMFA)
		p = b.get(up.url(e.cfg.Issuer))
		if !isMFAStep(p) || p.hasLoginForm() {
			t.Fatalf("step-up did not ask for the factor alone: %.300s", htmltest.Text(p.doc))
		}
		tok := e.tokensFor(t, b.submitMFA(t, p, totpCode(t, secret, e.clock.now())), up)
		wantClaims(t, tok, acrMFA, "pwd", "otp", "mfa")
		// A refreshed ID token keeps them.
		r := e.rp("web", webSecret, webCB, "openid", "offline_access")
		next, err := rp.RefreshTokens[*oidc.IDTokenClaims](t.Context(), r, tok.RefreshToken, "", "")
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		idt, err := rp.VerifyIDToken[*oidc.IDTokenClaims](t.Context(), next.Extra("id_token").(string), r.IDTokenVerifier())
		if err != nil || idt.AuthenticationContextClassReference != acrMFA || !strings.Contains(strings.Join(idt.AuthenticationMethodsReferences, " "), "mfa") {
			t.Errorf("refreshed ID token: acr %q amr %v (%v)", idt.AuthenticationContextClassReference, idt.AuthenticationMethodsReferences, err)
		}

		// The session holds the level now: another client gets it by SSO.
		sso := newAuthz("web2", web2CB, "openid")
		sso.extra.Set("acr_values", acrMFA)
		sso.extra.Set("prompt", "none")
		tok2, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid"), e.code(t, b.get(sso.url(e.cfg.Issuer)), sso), sso)
		if err != nil {
			t.Fatal(err)
		}
		wantClaims(t, tok2, acrMFA, "pwd", "otp", "mfa")

		// max_age still asks for the password (and then the factor).
		old := newAuthz("web", webCB, "openid")
		old.extra.Set("max_age", "1")
		e.clock.add(time.Minute)
		if p := b.get(old.url(e.cfg.Issuer)); !p.hasLoginForm() {
			t.Fatalf("max_age: no password form (status %d)", p.status)
		}
	})
}

// TestMFAReplayTwoReplicas: one authenticator code sent at once to two
// provider instances on one PostgreSQL signs in once; sent again from
// another browser's step on the other replica, it is refused.
func TestMFAReplayTwoReplicas(t *testing.T) {
	dsn := gormstoretest.PostgresDSN(t)
	open := func() *gormstore.Store { return openPostgres(t, dsn) }
	a := newEnv(t, open())
	r2 := a.second(open())
	owner := a.browser()
	p, az := a.startLogin(owner, false)
	a.tokensFor(t, p, az)
	secret, _ := a.enrolTOTP(t, owner)
	a.clock.add(2 * time.Minute)
	code := totpCode(t, secret, a.clock.now())

	// post is the step's form with code, sent to the replica at base
	// (cookies go by host, not port).
	post := func(b *browser, step page, base string) *http.Request {
		vals, _ := formInputs(t, step.doc, "/login/mfa")
		req := b.postRequest(base+"/login/mfa", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]},
			"method": {vals["method"]}, "code": {code}}, "")
		req.Header.Set("Origin", base)
		return req
	}
	b := a.browser()
	step, _ := a.startLogin(b, false)
	if !isMFAStep(step) {
		t.Fatal("no second-factor step")
	}
	const n = 8
	results := make([]page, n)
	errs := make([]error, n)
	reqs := make([]*http.Request, n)
	for i := range n {
		reqs[i] = post(b, step, []string{a.ts.URL, r2.ts.URL}[i%2])
	}
	startGate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-startGate
			results[i], errs[i] = b.send(reqs[i])
		})
	}
	close(startGate)
	wg.Wait()
	won := 0
	for i, res := range results {
		switch {
		case errs[i] != nil:
			t.Fatalf("request %d: %v", i, errs[i])
		case res.status >= 300 && res.status < 400:
			won++
		case !isMFAStep(res) && !res.hasLoginForm():
			t.Errorf("request %d: status %d, neither signed in nor refused", i, res.status)
		}
	}
	if won != 1 {
		t.Fatalf("%d sign-ins with one code, want 1", won)
	}
	// The code, spent through the first replica or the second, is refused
	// at another browser's step on each.
	for _, base := range []string{r2.ts.URL, a.ts.URL} {
		other := a.browser()
		step, _ := a.startLogin(other, false)
		res, err := other.send(post(other, step, base))
		if err != nil {
			t.Fatal(err)
		}
		if !isMFAStep(res) || byID(res, "mfa-error") == "" {
			t.Errorf("a spent code at %s: status %d", base, res.status)
		}
	}
}
