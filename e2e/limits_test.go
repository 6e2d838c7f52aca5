package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// wrongTries is how many wrong guesses arrive at once in the concurrent
// tests (with the right one among them); capBurst is how many requests
// arrive at once against an hourly cap.
const (
	wrongTries = 40
	capBurst   = 50
)

// limitCase is one limit attacked with concurrent requests.
type limitCase struct {
	name   string
	mutate []func(*config.Config)
	run    func(t *testing.T, smtp *mailtest.Server, replicas []*env)
}

var limitCases = []limitCase{
	// A long base delay, so no delay runs out during a burst.
	{"password", []func(*config.Config){func(c *config.Config) { c.Throttle.BaseDelay = config.Duration(time.Minute) }},
		testPasswordBurst},
	{"current password on the account page", []func(*config.Config){func(c *config.Config) { c.Throttle.BaseDelay = config.Duration(time.Minute) }},
		testAccountPasswordBurst},
	// The account's cap is raised: the per-code limit is under test.
	{"sign-in code", []func(*config.Config){withOTP("always"), func(c *config.Config) { c.OTP.MaxFailuresPerHour = 1000 }},
		testOTPBurst},
	// More tries per code than the account has left: the account's cap
	// is under test.
	{"wrong codes per account", []func(*config.Config){withOTP("always"), func(c *config.Config) { c.OTP.MaxFailures = 8 }},
		testOTPAccountCap},
	{"reset code", nil, testResetBurst},
	// No resend cooldown: the hourly cap alone limits the resends.
	{"hourly caps", []func(*config.Config){withOTP("optional"), func(c *config.Config) { c.OTP.ResendCooldown = config.Duration(time.Microsecond) }},
		testHourlyCaps},
}

// TestConcurrentLimits: every limit holds when its requests arrive
// together.
func TestConcurrentLimits(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		for _, c := range limitCases {
			t.Run(c.name, func(t *testing.T) {
				smtp := startSMTP(t)
				e := newEnvSMTP(t, newStore(t), smtp, c.mutate...)
				e.run()
				c.run(t, smtp, []*env{e})
			})
		}
	})
}

// TestConcurrentLimitsTwoReplicas: the same with the requests spread over
// two replicas on one PostgreSQL database.
func TestConcurrentLimitsTwoReplicas(t *testing.T) {
	for _, c := range limitCases {
		t.Run(c.name, func(t *testing.T) {
			dsn := gormstoretest.PostgresDSN(t)
			smtp := startSMTP(t)
			a := newEnvSMTP(t, openPostgres(t, dsn), smtp, c.mutate...)
			b := a.second(openPostgres(t, dsn))
			a.run()
			b.run()
			c.run(t, smtp, []*env{a, b})
		})
	}
}

// concurrently sends n requests at once from browser b, request i to
// replica i mod len(replicas), and returns the answers in order.
func concurrently(t *testing.T, b *browser, replicas []*env, n int, req func(i int, base string) *http.Request) []page {
	t.Helper()
	pages, errs := make([]page, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		r := req(i, replicas[i%len(replicas)].ts.URL)
		wg.Go(func() {
			<-start
			pages[i], errs[i] = b.send(r)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return pages
}

// audited counts the audit events of a type with an outcome and detail
// ("" matches any), of one user ("" for every user).
func (e *env) audited(t *testing.T, userID, typ, outcome, detail string) int {
	t.Helper()
	evs, err := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: userID, Type: typ, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Outcome == outcome && (detail == "" || ev.Detail == detail) {
			n++
		}
	}
	return n
}

// outboxed counts the mails written to the outbox for to with template:
// everything that will ever be sent, unlike what arrived so far.
func (e *env) outboxed(t *testing.T, template, to string) int {
	t.Helper()
	ms, err := e.store.ListMail(t.Context(), storage.DeliveryFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Template == template && m.Recipient == to {
			n++
		}
	}
	return n
}

// signedInTo reports whether p answers with a redirect to the client's
// redirect URI (a finished sign-in).
func signedInTo(p page, redirect string) bool {
	return p.status >= 300 && p.status < 400 && strings.HasPrefix(p.header.Get("Location"), redirect)
}

// countSignIns counts the answers of a burst that finished a sign-in.
func countSignIns(pages []page) int {
	n := 0
	for _, p := range pages {
		if signedInTo(p, webCB) {
			n++
		}
	}
	return n
}

// otherCode is a wrong code for code.
func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// testPasswordBurst: 40 wrong passwords and the right one at once, three
// times. The throttle is taken before each check, so no more checks run
// than the account's free attempts; refused attempts answer exactly like
// wrong passwords and move no delay.
func testPasswordBurst(t *testing.T, _ *mailtest.Server, replicas []*env) {
	e := replicas[0]
	free := e.cfg.Throttle.FreeFailures
	for round := range 3 {
		t.Run(fmt.Sprintf("round %d", round+1), func(t *testing.T) {
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			id := loginID(t, b.get(a.url(e.cfg.Issuer)))
			wrong0, right0 := e.audited(t, e.user.ID, "login", "failure", "wrong_password"), e.audited(t, e.user.ID, "login", "success", "")
			rightAt := round * wrongTries / 2
			pages := concurrently(t, b, replicas, wrongTries+1, func(i int, base string) *http.Request {
				pw := "Wrong-password-1!"
				if i == rightAt {
					pw = userPass
				}
				return b.postRequest(base+"/login", url.Values{"id": {id}, "email": {e.user.Email}, "password": {pw}}, e.cfg.Issuer)
			})
			wrong := e.audited(t, e.user.ID, "login", "failure", "wrong_password") - wrong0
			signedIn := e.audited(t, e.user.ID, "login", "success", "") - right0
			if n := countSignIns(pages); n != signedIn || n > 1 {
				t.Fatalf("%d answers signed in, %d successes audited; want the same, at most 1", n, signedIn)
			}
			t.Logf("%d wrong passwords checked, right one signed in: %v", wrong, signedIn == 1)
			switch {
			case signedIn == 0 && wrong > free:
				t.Errorf("%d wrong passwords were checked, want at most %d (throttle.free_failures)", wrong, free)
			case signedIn == 1 && wrong > 2*free-1:
				// A right password clears the account's count (by design),
				// so the attempts still in flight behind it start afresh:
				// at most free-1 before it and free after it.
				t.Errorf("%d wrong passwords were checked around the right one, want at most %d", wrong, 2*free-1)
			}
			// Every failure gets one answer: checked or refused.
			var failed []page
			for _, p := range pages {
				if !signedInTo(p, webCB) {
					failed = append(failed, p)
				}
			}
			ref := failed[0]
			for i, p := range failed {
				if p.status != ref.status || !p.hasLoginForm() || htmltest.Text(p.doc) != htmltest.Text(ref.doc) {
					t.Fatalf("failed attempt %d answered %d %q, another %d %q", i, p.status, alertText(p), ref.status, alertText(ref))
				}
			}
			if signedIn == 0 {
				// The limit is reached: the right password gets the answer of
				// a wrong one, and no check.
				r := b.post(e.cfg.Issuer+"/login", url.Values{"id": {id}, "email": {e.user.Email}, "password": {userPass}}, e.cfg.Issuer)
				if signedInTo(r, webCB) {
					t.Fatal("the right password signed in after the limit was reached")
				}
				if r.status != ref.status || htmltest.Text(r.doc) != htmltest.Text(ref.doc) {
					t.Errorf("a throttled attempt answered %d %q, a wrong password %d %q", r.status, alertText(r), ref.status, alertText(ref))
				}
				if got := e.audited(t, e.user.ID, "login", "success", "") - right0; got != 0 {
					t.Errorf("a throttled right password was checked")
				}
			}
			// The refused attempts moved no delay: one base delay after the
			// last counted attempt, the right password signs in.
			e.clock.add(e.cfg.Throttle.BaseDelay.D() + time.Second)
			fresh := e.browser()
			a2 := newAuthz("web", webCB, "openid")
			e.code(t, fresh.signIn(fresh.get(a2.url(e.cfg.Issuer)), e.user.Email, userPass), a2)
		})
	}
}

// testAccountPasswordBurst: 40 wrong current passwords at once on the
// account page are taken from the sign-in's throttle: no more checks than
// its free attempts, and then the sign-in form refuses the right password
// too, until the delay is over.
func testAccountPasswordBurst(t *testing.T, _ *mailtest.Server, replicas []*env) {
	e := replicas[0]
	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.user.Email, userPass), a)
	concurrently(t, b, replicas, wrongTries, func(_ int, base string) *http.Request {
		return b.postRequest(base+"/account/password", url.Values{"current_password": {"Wrong-password-1!"},
			"password": {newPass}, "confirm": {newPass}}, e.cfg.Issuer)
	})
	if n := e.audited(t, e.user.ID, "password_check", "failure", "account_page"); n != e.cfg.Throttle.FreeFailures {
		t.Errorf("%d current passwords checked, want %d (throttle.free_failures)", n, e.cfg.Throttle.FreeFailures)
	}
	fresh := e.browser()
	a2 := newAuthz("web", webCB, "openid")
	if r := fresh.signIn(fresh.get(a2.url(e.cfg.Issuer)), e.user.Email, userPass); signedInTo(r, webCB) {
		t.Error("the sign-in form did not share the account page's throttle")
	}
	e.clock.add(e.cfg.Throttle.BaseDelay.D() + time.Second)
	a3 := newAuthz("web", webCB, "openid")
	e.code(t, fresh.signIn(fresh.get(a3.url(e.cfg.Issuer)), e.user.Email, userPass), a3)
}

// loginID is the auth request id of the sign-in form on p.
func loginID(t *testing.T, p page) string {
	t.Helper()
	if !p.hasLoginForm() {
		t.Fatalf("no sign-in form (status %d)", p.status)
	}
	vals, _ := formInputs(t, p.doc, "/login")
	return vals["id"]
}

// testOTPBurst: 40 wrong sign-in codes and the right one at once against
// one step, three times: at most otp.max_failures codes are compared, and
// the right code never works once they were wrong.
func testOTPBurst(t *testing.T, smtp *mailtest.Server, replicas []*env) {
	e := replicas[0]
	codeBursts(t, replicas, "login", e.cfg.OTP.MaxFailures, func(t *testing.T, b *browser, _ int) (string, string, func(string) url.Values) {
		n := countTo(smtp, e.user.Email, "sign-in code") + 1
		step, _ := e.startLogin(b, false)
		if !step.hasForm("/login/otp") {
			t.Fatalf("no code step (status %d)", step.status)
		}
		vals, _ := formInputs(t, step.doc, "/login/otp")
		return loginCode(t, smtp, e.user.Email, n), "/login/otp", func(code string) url.Values {
			return url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}, "code": {code}}
		}
	})
}

// codeBursts sends 40 wrong codes and the right one at once to a step
// that start opens (returning its code, the path its form posts to and
// the form for a code), three times. At most max codes may be compared
// (audit events of auditType with detail wrong_code); the right one, if
// it worked, was compared before the limit was reached, and otherwise
// exactly max wrong ones were, and it does not work after the burst.
func codeBursts(t *testing.T, replicas []*env, auditType string, max int,
	start func(t *testing.T, b *browser, round int) (code, path string, form func(code string) url.Values)) {
	e := replicas[0]
	for round := range 3 {
		t.Run(fmt.Sprintf("round %d", round+1), func(t *testing.T) {
			b := e.browser()
			code, path, form := start(t, b, round)
			wrong0 := e.audited(t, e.user.ID, auditType, "failure", "wrong_code")
			rightAt := round * wrongTries / 2
			pages := concurrently(t, b, replicas, wrongTries+1, func(i int, base string) *http.Request {
				c := otherCode(code)
				if i == rightAt {
					c = code
				}
				return b.postRequest(base+path, form(c), e.cfg.Issuer)
			})
			wrong := e.audited(t, e.user.ID, auditType, "failure", "wrong_code") - wrong0
			signedIn := countSignIns(pages)
			t.Logf("%d wrong codes compared, right one accepted: %v", wrong, signedIn == 1)
			switch {
			case signedIn > 1:
				t.Errorf("one code signed in %d times", signedIn)
			case wrong > max:
				t.Errorf("%d wrong codes were compared, want at most %d", wrong, max)
			case signedIn == 1 && wrong > max-1:
				t.Errorf("the right code worked after %d wrong ones (the limit is %d)", wrong, max)
			case signedIn == 0 && wrong != max:
				// Every try up to the limit is compared, and recorded.
				t.Errorf("%d wrong codes were compared and recorded, want %d", wrong, max)
			case signedIn == 0:
				if r := b.post(e.cfg.Issuer+path, form(code), e.cfg.Issuer); signedInTo(r, webCB) {
					t.Error("the right code worked after the limit was reached")
				}
			}
		})
	}
}

// testOTPAccountCap: wrong codes count per account across its steps: at
// the cap (10 an hour) the step answers "too many attempts", even with
// the right code or a new step, until the hour is over; the owner gets
// one notice, however many requests reached the cap together.
func testOTPAccountCap(t *testing.T, smtp *mailtest.Server, replicas []*env) {
	e := replicas[0]
	limit := e.cfg.OTP.MaxFailuresPerHour
	n := countTo(smtp, e.user.Email, "sign-in code")
	// A first step: six wrong codes, one after another.
	first := e.browser()
	step, _ := e.startLogin(first, false)
	n++
	code := loginCode(t, smtp, e.user.Email, n)
	for i := range 6 {
		if r := first.submitOTP(t, step, otherCode(code)); !strings.Contains(alertText(r), "wrong") {
			t.Fatalf("wrong code %d: %q", i+1, alertText(r))
		}
	}
	// A second step: 40 wrong codes at once. The account has four left.
	b := e.browser()
	step, _ = e.startLogin(b, false)
	n++
	code = loginCode(t, smtp, e.user.Email, n)
	vals, _ := formInputs(t, step.doc, "/login/otp")
	pages := concurrently(t, b, replicas, wrongTries, func(i int, base string) *http.Request {
		return b.postRequest(base+"/login/otp", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}, "code": {otherCode(code)}}, e.cfg.Issuer)
	})
	if wrong := e.audited(t, e.user.ID, "login", "failure", "wrong_code"); wrong != limit {
		t.Errorf("%d wrong codes compared in the hour, want %d (otp.max_failures_per_hour)", wrong, limit)
	}
	if refused := e.audited(t, e.user.ID, "login", "failure", "too_many_attempts"); refused != wrongTries-(limit-6) {
		t.Errorf("%d tries refused, want %d", refused, wrongTries-(limit-6))
	}
	tooMany := 0
	for _, p := range pages {
		if p.status == http.StatusTooManyRequests && strings.Contains(alertText(p), "Too many attempts") {
			tooMany++
		}
	}
	if tooMany < wrongTries-(limit-6) {
		t.Errorf("%d answers said too many attempts, want at least %d", tooMany, wrongTries-(limit-6))
	}
	// The right code of this step, and a new step, are refused too.
	if r := b.submitOTP(t, step, code); r.status != http.StatusTooManyRequests || !strings.Contains(alertText(r), "Too many attempts") {
		t.Errorf("the right code at the cap: %d %q, want 429 and too many attempts", r.status, alertText(r))
	}
	third := e.browser()
	step, _ = e.startLogin(third, false)
	n++
	if r := third.submitOTP(t, step, loginCode(t, smtp, e.user.Email, n)); r.status != http.StatusTooManyRequests {
		t.Errorf("a new step at the cap: status %d %q, want 429", r.status, alertText(r))
	}
	// One notice, at the SMTP server and in the outbox (nothing more will
	// be sent).
	m := mailsTo(t, smtp, e.user.Email, "Too many wrong codes", 1)[0]
	if !strings.Contains(m.Text, fmt.Sprint(limit)) || !strings.Contains(m.Text, "127.0.0.1") {
		t.Errorf("notice without the count or the address: %.400s", m.Text)
	}
	if got := e.outboxed(t, "code_failures", e.user.Email); got != 1 {
		t.Errorf("%d notices written, want 1", got)
	}
	// After the hour, codes work again.
	e.clock.add(time.Hour + time.Second)
	last := e.browser()
	step, a := e.startLogin(last, false)
	n++
	wantAMR(t, e.tokensFor(t, last.submitOTP(t, step, loginCode(t, smtp, e.user.Email, n)), a), "pwd", "otp")
}

// testResetBurst: 40 wrong reset codes and the right one (with a good
// new password) at once, three times.
func testResetBurst(t *testing.T, smtp *mailtest.Server, replicas []*env) {
	e := replicas[0]
	codeBursts(t, replicas, "password_reset", e.cfg.Reset.MaxFailures, func(t *testing.T, b *browser, round int) (string, string, func(string) url.Values) {
		n := countTo(smtp, e.user.Email, "password reset code") + 1
		p := b.forgot(t, newAuthz("web", webCB, "openid"), e.user.Email)
		vals, _ := formInputs(t, p.doc, "/reset/verify")
		pw := fmt.Sprintf("Fresh-horse-%d!x", 40+round)
		return mailtest.Code(mailsTo(t, smtp, e.user.Email, "password reset code", n)[n-1].Text), "/reset/verify", func(code string) url.Values {
			return url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}, "code": {code}, "password": {pw}, "confirm": {pw}}
		}
	})
}

// testHourlyCaps: 50 requests at once never send more mails than the
// hourly cap: sign-in codes per user, verification links per user,
// reset codes per address, reset requests per client address.
func testHourlyCaps(t *testing.T, smtp *mailtest.Server, replicas []*env) {
	e := replicas[0]
	t.Run("sign-in codes per user", func(t *testing.T) {
		if _, err := e.store.UpdateUser(t.Context(), e.user.ID, func(u storage.User) (storage.User, error) {
			u.OTPEnabled = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		step, _ := e.startLogin(b, false)
		vals, _ := formInputs(t, step.doc, "/login/otp/resend")
		concurrently(t, b, replicas, capBurst, func(_ int, base string) *http.Request {
			return b.postRequest(base+"/login/otp/resend", url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}}, e.cfg.Issuer)
		})
		want := e.cfg.OTP.MaxSendsPerHour
		if got := e.outboxed(t, "login_code", e.user.Email); got != want {
			t.Errorf("%d sign-in code mails written, want %d (otp.max_sends_per_hour)", got, want)
		}
		mailsTo(t, smtp, e.user.Email, "sign-in code", want)
	})
	t.Run("verification links per user", func(t *testing.T) {
		b := e.browser()
		a := newAuthz("web", webCB, "openid")
		e.code(t, b.signIn(b.get(a.url(e.cfg.Issuer)), e.other.Email, otherPass), a)
		if _, err := e.store.UpdateUser(t.Context(), e.other.ID, func(u storage.User) (storage.User, error) {
			u.EmailVerified = false
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		concurrently(t, b, replicas, capBurst, func(_ int, base string) *http.Request {
			return b.postRequest(base+"/account/verify", url.Values{}, e.cfg.Issuer)
		})
		want := e.cfg.Reset.PerEmailPerHour
		if got := e.outboxed(t, "verify_email", e.other.Email); got != want {
			t.Errorf("%d verification links written, want %d", got, want)
		}
	})
	t.Run("reset requests per client address", func(t *testing.T) {
		b := e.browser()
		vals, _ := formInputs(t, b.get(e.cfg.Issuer+"/reset?id="+url.QueryEscape(loginID(t, b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer))))).doc, "/reset")
		concurrently(t, b, replicas, capBurst, func(i int, base string) *http.Request {
			return b.postRequest(base+"/reset", url.Values{"id": {vals["id"]}, "email": {fmt.Sprintf("nobody-%d@example.com", i)}}, e.cfg.Issuer)
		})
		want := capBurst - e.cfg.Reset.PerIPPerHour
		if got := e.audited(t, "", "password_reset_requested", "failure", "rate_limited"); got != want {
			t.Errorf("%d of %d requests from one address refused, want %d (reset.per_ip_per_hour %d)", got, capBurst, want, e.cfg.Reset.PerIPPerHour)
		}
	})
	t.Run("reset codes per address", func(t *testing.T) {
		e.clock.add(time.Hour + time.Second) // the address's hour is over
		b := e.browser()
		vals, _ := formInputs(t, b.get(e.cfg.Issuer+"/reset?id="+url.QueryEscape(loginID(t, b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer))))).doc, "/reset")
		concurrently(t, b, replicas, capBurst, func(_ int, base string) *http.Request {
			return b.postRequest(base+"/reset", url.Values{"id": {vals["id"]}, "email": {e.user.Email}}, e.cfg.Issuer)
		})
		want := e.cfg.Reset.PerEmailPerHour
		if got := e.outboxed(t, "reset_code", e.user.Email); got != want {
			t.Errorf("%d reset codes written, want %d (reset.per_email_per_hour)", got, want)
		}
		mailsTo(t, smtp, e.user.Email, "password reset code", want)
	})
}
