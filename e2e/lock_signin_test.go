package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

const day = 24 * time.Hour

var unlockLinkRE = regexp.MustCompile(`https?://[^\s"<>]+/unlock\?token=[A-Za-z0-9_%=-]+`)

// unlockLink is the link of an identity-confirmation mail.
func unlockLink(t *testing.T, m mailtest.Received) string {
	t.Helper()
	link := unlockLinkRE.FindString(m.Text)
	if link == "" {
		t.Fatalf("no unlock link in the mail: %s", m.Text)
	}
	return link
}

// getLang fetches u with Accept-Language lang.
func (b *browser) getLang(u, lang string) page {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Accept-Language", lang)
	return b.do(req)
}

// lockTexts are what the pages and mails of the lock say, per language.
var lockTexts = map[string]struct{ subject, locked, mailed, notice, expired string }{
	"en": {"Confirm it's you to unlock your", "locked for security because it had not been used for a while",
		"we sent an email with an unlock link", "Sign in with your password to unlock", "has expired, has been used"},
	"ja": {"【本人確認】", "長期間ログインがなかったため、セキュリティ保護のためにロックされています",
		"ロック解除用のURLを記載したメールを送信しました", "ログインすると、アカウントのロックが解除されます", "有効期限が切れているか"},
}

// lockedMailed checks p, the answer to the right password of u, locked:
// the lock's page (403) in lang, saying that a link was mailed, with no
// sign-in form and not the address; one dormant_signin_attempt and one
// unlock_link_sent written; last_login_at not moved. It returns the link
// of the identity-confirmation mail, once it has arrived.
func (e *env) lockedMailed(t *testing.T, smtp *mailtest.Server, p page, u storage.User, lang string) string {
	t.Helper()
	txt := lockTexts[lang]
	if p.status != http.StatusForbidden || !strings.Contains(byID(p, "message"), txt.locked) ||
		!strings.Contains(byID(p, "detail"), txt.mailed) || strings.Contains(p.body, u.Email) {
		t.Fatalf("locked page: status %d, message %q, detail %q", p.status, byID(p, "message"), byID(p, "detail"))
	}
	if p.hasLoginForm() || p.hasForm("/login/legacy") {
		t.Error("the locked page offers a sign-in form")
	}
	mails := mailsTo(t, smtp, u.Email, txt.subject, 1)
	if n := e.audited(t, u.ID, "dormant_signin_attempt", "failure", "locked"); n != 1 {
		t.Errorf("%d dormant attempts audited, want 1", n)
	}
	if n := e.audited(t, u.ID, "unlock_link_sent", "success", ""); n != 1 {
		t.Errorf("%d unlock_link_sent audited, want 1", n)
	}
	if got := e.reload(t, u.ID); got.LastLoginAt != nil {
		t.Errorf("the refused sign-in moved last_login_at to %v", got.LastLoginAt)
	}
	return unlockLink(t, mails[0])
}

// TestDormantLockAtSignIn: after 91 idle days the right password is
// refused with the lock's page in the user's language and exactly one
// identity-confirmation mail; a wrong password gets the ordinary answer
// and no mail; the mailed link shows the sign-in page with a notice,
// signing in there unlocks the account for good and returns to the
// application; the used link is refused.
func TestDormantLockAtSignIn(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		e.clock.add(91 * day)
		for _, tc := range []struct {
			lang string
			user storage.User
			pw   string
		}{{"en", e.user, userPass}, {"ja", e.other, otherPass}} {
			t.Run(tc.lang, func(t *testing.T) {
				txt := lockTexts[tc.lang]
				u := tc.user
				start := func() (*browser, *authz, page) {
					b := e.browser()
					a := newAuthz("web", webCB, "openid")
					a.extra.Set("ui_locales", tc.lang)
					return b, a, b.get(a.url(e.cfg.Issuer))
				}

				// A wrong password: the ordinary answer, nothing sent.
				b, _, form := start()
				wrong := b.signIn(form, u.Email, "Wrong-pass-1!")
				b2, _, form2 := start()
				unknown := b2.signIn(form2, "nobody@example.com", "Wrong-pass-1!")
				if wrong.status != http.StatusOK || !wrong.hasLoginForm() || alertText(wrong) == "" ||
					alertText(wrong) != alertText(unknown) || wrong.status != unknown.status {
					t.Errorf("wrong password: status %d %q, unknown account: status %d %q",
						wrong.status, alertText(wrong), unknown.status, alertText(unknown))
				}
				if n := e.audited(t, u.ID, "dormant_signin_attempt", "failure", ""); n != 0 {
					t.Errorf("%d dormant attempts audited after a wrong password", n)
				}
				if n := e.outboxed(t, "unlock", u.Email); n != 0 {
					t.Errorf("%d unlock mails after a wrong password", n)
				}

				// The right password: locked, told why and what next.
				b, a, form := start()
				link := e.lockedMailed(t, smtp, b.signIn(form, u.Email, tc.pw), u, tc.lang)

				// The link: the sign-in page with a notice; signing in
				// there unlocks and goes back to the application.
				again := b.get(link)
				if !again.hasLoginForm() || !strings.Contains(roleText(again, "status"), txt.notice) {
					t.Fatalf("unlock link: status %d, notice %q: %.300s", again.status, roleText(again, "status"), again.body)
				}
				if strings.Contains(again.url.String(), "token=") {
					t.Errorf("the token stays in the address bar: %s", again.url)
				}
				tok := e.tokensFor(t, b.signIn(again, u.Email, tc.pw), a)
				if tok.IDTokenClaims.Subject != u.ID {
					t.Errorf("signed in as %s, want %s", tok.IDTokenClaims.Subject, u.ID)
				}
				got := e.reload(t, u.ID)
				if got.LastLoginAt == nil || e.clock.now().Sub(*got.LastLoginAt) > time.Minute || got.DormantAt != nil {
					t.Errorf("after the unlock: last_login_at %v, dormant_at %v", got.LastLoginAt, got.DormantAt)
				}
				if n := e.audited(t, u.ID, "account_unlocked", "success", "link"); n != 1 {
					t.Errorf("%d account_unlocked audited, want 1", n)
				}
				if n := countTo(smtp, u.Email, txt.subject); n != 1 {
					t.Errorf("%d identity-confirmation mails, want exactly 1", n)
				}

				// The link is spent; the account signs in as usual.
				used := e.browser().getLang(link, tc.lang)
				if used.status != http.StatusGone || !strings.Contains(byID(used, "message"), txt.expired) || used.hasLoginForm() {
					t.Errorf("used link: status %d, message %q", used.status, byID(used, "message"))
				}
				b3, a3, form3 := start()
				e.tokensFor(t, b3.signIn(form3, u.Email, tc.pw), a3)
			})
		}
	})
}

// TestDormantClock: the idle period counts from the last typed password
// (or the creation): 89 idle days sign in as usual; reusing the SSO
// session and refreshing tokens in between do not reset the clock, a
// typed password does; a locked account's SSO session answers nothing.
func TestDormantClock(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), func(c *config.Config) {
			c.Session.Idle, c.Session.Absolute = config.Duration(200*day), config.Duration(200*day)
			c.Lifetimes.RefreshTokenIdle, c.Lifetimes.RefreshTokenAbsolute = config.Duration(200*day), config.Duration(200*day)
		})
		carol := e.addUser("carol@example.com", "Carol", userPass)
		sso := e.browser()
		first, _ := e.signInFreshAs(t, sso, e.user.Email, userPass)

		e.clock.add(60 * day)
		// Alice: her session answers a new request, her tokens refresh.
		a := newAuthz("web", webCB, "openid")
		e.tokensFor(t, sso.get(a.url(e.cfg.Issuer)), a)
		status, m := e.tokenPost(t, "web", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
		if status != http.StatusOK {
			t.Fatalf("refresh on day 60: %d %v", status, m)
		}
		// Bob types his password.
		e.signInFreshAs(t, e.browser(), e.other.Email, otherPass)

		e.clock.add(29 * day)
		// Carol, 89 days after her creation: as usual.
		e.signInFreshAs(t, e.browser(), carol.Email, userPass)

		e.clock.add(2 * day)
		// Day 91: Alice's session does not answer; her password is
		// refused as locked. Bob (31 days) signs in.
		a = newAuthz("web", webCB, "openid")
		p := sso.get(a.url(e.cfg.Issuer))
		if !p.hasLoginForm() {
			t.Fatalf("the SSO session of a locked account answered: status %d at %s", p.status, p.url)
		}
		if acct := sso.get(e.cfg.Issuer + "/account"); !acct.hasLoginForm() {
			t.Errorf("the account page of a locked account's session: status %d at %s", acct.status, acct.url)
		}
		if locked := sso.signIn(p, e.user.Email, userPass); locked.status != http.StatusForbidden {
			t.Errorf("day 91 after the typed password, with reuse and refresh between: status %d, want 403", locked.status)
		}
		e.signInFreshAs(t, e.browser(), e.other.Email, otherPass)
	})
}

// TestUnlockLinksRefused: a link opened after 25 hours, and an older
// link after a newer mail, get the page that says to sign in again, and
// change nothing.
func TestUnlockLinksRefused(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		e.clock.add(91 * day)
		u := e.user
		attempt := func() {
			t.Helper()
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			if p := b.signIn(b.get(a.url(e.cfg.Issuer)), u.Email, userPass); p.status != http.StatusForbidden {
				t.Fatalf("locked sign-in: status %d", p.status)
			}
		}
		attempt()
		older := unlockLink(t, mailsTo(t, smtp, u.Email, lockTexts["en"].subject, 1)[0])
		attempt()
		newer := unlockLink(t, mailsTo(t, smtp, u.Email, lockTexts["en"].subject, 2)[1])
		if older == newer {
			t.Fatal("two mails carry the same link")
		}
		refused := func(name, link string) {
			t.Helper()
			for lang, txt := range lockTexts {
				p := e.browser().getLang(link, lang)
				if p.status != http.StatusGone || !strings.Contains(byID(p, "message"), txt.expired) || p.hasLoginForm() {
					t.Errorf("%s (%s): status %d, message %q", name, lang, p.status, byID(p, "message"))
				}
			}
		}
		refused("older link after a newer mail", older)

		e.clock.add(25 * time.Hour)
		refused("link after 25 hours", newer)
		// Signing in with the expired link in the cookie is a locked
		// sign-in again (a new mail), not an unlock.
		b := e.browser()
		b.get(newer)
		a := newAuthz("web", webCB, "openid")
		if p := b.signIn(b.get(a.url(e.cfg.Issuer)), u.Email, userPass); p.status != http.StatusForbidden {
			t.Errorf("sign-in after an expired link: status %d, want 403", p.status)
		}
		got := e.reload(t, u.ID)
		if got.LastLoginAt != nil {
			t.Errorf("refused links moved last_login_at to %v", got.LastLoginAt)
		}
		if n := e.audited(t, u.ID, "account_unlocked", "success", ""); n != 0 {
			t.Errorf("%d unlocks audited after refused links", n)
		}
	})
}

// TestDormantWithoutAddress: a locked account without an address is told,
// in its language, to contact its organization's administrators, with up
// to five names of members whose role may manage members; no mail.
func TestDormantWithoutAddress(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), withMode(config.IdentifierOrgUsername), withRoles)
		hotel := e.addOrg(t, "H1", "Hotel")
		admins := map[string]bool{}
		for i, role := range []string{"owner", "admin", "admin", "admin", "admin", "admin"} {
			m := e.addMember(t, hotel, "", "boss"+string(rune('a'+i)), deskPass, role, false)
			admins[m.Name] = true
		}
		staff := e.addMember(t, hotel, "", "front1", deskPass, "staff", false)
		e.addMember(t, e.addOrg(t, "H2", "Other"), "", "otherboss", deskPass, "owner", false)
		e.clock.add(91 * day)
		for lang, want := range map[string]string{"en": "contact one of them", "ja": "次の管理者にご連絡ください"} {
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			a.extra.Set("ui_locales", lang)
			p := b.signInAs(t, b.get(a.url(e.cfg.Issuer)), "H1", staff.Username, deskPass)
			if p.status != http.StatusForbidden || !strings.Contains(byID(p, "detail"), want) {
				t.Fatalf("%s: status %d, detail %q", lang, p.status, byID(p, "detail"))
			}
			var items []*html.Node
			for _, ul := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == "names" }) {
				items = append(items, htmltest.Find(ul, func(n *html.Node) bool { return htmltest.IsTag(n, "li") })...)
			}
			if len(items) != 5 {
				t.Errorf("%s: %d names listed, want 5", lang, len(items))
			}
			for _, li := range items {
				if !admins[htmltest.Text(li)] {
					t.Errorf("%s: %q listed, not an administrator of the organization", lang, htmltest.Text(li))
				}
			}
		}
		if n := e.audited(t, staff.ID, "unlock_link_sent", "success", ""); n != 0 {
			t.Errorf("%d unlock links for an account without an address", n)
		}
	})
}

// TestDormantAlerts: a right password on a locked account mails each
// member chosen as alert recipient once a day, with the member, the time
// in the organization's zone, the address, the device type and the
// console link; nobody is mailed while no one is chosen.
func TestDormantAlerts(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withMode(config.IdentifierOrgEmail), withRoles)
		e.run()
		hotel := e.addOrg(t, "H1", "Hotel Sakura")
		boss := e.addMember(t, hotel, "boss@hotel.example", "", deskPass, "owner", true)
		sub := e.addMember(t, hotel, "sub@hotel.example", "", deskPass, "admin", true)
		quiet := e.addMember(t, hotel, "quiet@hotel.example", "", deskPass, "admin", true)
		staff := e.addMember(t, hotel, "front@hotel.example", "", deskPass, "staff", true)
		e.clock.add(91 * day)
		const subject = "Sign-in attempt on a locked account"
		const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
		attempt := func() {
			t.Helper()
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			form := accountForm(t, b.get(a.url(e.cfg.Issuer)), "/login", "H1", staff.Email, url.Values{"password": {deskPass}})
			req := b.postRequest(e.cfg.Issuer+"/login", form, e.cfg.Issuer)
			req.Header.Set("User-Agent", iPhone)
			if p := b.do(req); p.status != http.StatusForbidden {
				t.Fatalf("locked sign-in: status %d", p.status)
			}
		}

		attempt()
		mailsTo(t, smtp, staff.Email, lockTexts["en"].subject, 1) // the attempt's mails went out
		for _, m := range []storage.User{boss, sub, quiet} {
			if n := e.outboxed(t, "dormant_alert", m.Email); n != 0 {
				t.Errorf("%d alerts to %s with no recipient chosen", n, m.Email)
			}
		}

		if err := e.store.SetAlertRecipients(t.Context(), hotel.ID, []string{boss.ID, sub.ID}, nil); err != nil {
			t.Fatal(err)
		}
		attempt()
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		when := e.clock.now().In(tokyo).Format("2006-01-02 15:04")
		for _, r := range []storage.User{boss, sub} {
			m := mailsTo(t, smtp, r.Email, subject, 1)[0]
			for _, want := range []string{"Hotel Sakura", staff.Name, staff.Email, when, "(JST)", "127.0.0.1", "smartphone",
				e.cfg.Issuer + "/admin/members/" + staff.ID, "disable the account"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("alert to %s lacks %q:\n%s", r.Email, want, m.Text)
				}
			}
		}
		attempt() // the same day: no second alert
		// Its unlock mail goes out before the day passes: a link mail
		// that is sent once its link has expired never is.
		mailsTo(t, smtp, staff.Email, lockTexts["en"].subject, 3)
		e.clock.add(25 * time.Hour)
		attempt() // the next day: one more
		mailsTo(t, smtp, staff.Email, lockTexts["en"].subject, 4)
		for r, want := range map[string]int{boss.Email: 2, sub.Email: 2, quiet.Email: 0} {
			if n := e.outboxed(t, "dormant_alert", r); n != want {
				t.Errorf("%d alerts to %s, want %d", n, r, want)
			}
		}
		if n := e.audited(t, staff.ID, "dormant_alert_sent", "success", ""); n != 2 {
			t.Errorf("%d dormant_alert_sent audited, want 2", n)
		}
	})
}

// TestUnlockWithCode: when the policy asks for the emailed code, the
// sign-in through the unlock link passes it too, then unlocks.
func TestUnlockWithCode(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withOTP("always"))
		e.run()
		e.clock.add(91 * day)
		u := e.user
		b := e.browser()
		a := newAuthz("web", webCB, "openid")
		if p := b.signIn(b.get(a.url(e.cfg.Issuer)), u.Email, userPass); p.status != http.StatusForbidden {
			t.Fatalf("locked sign-in: status %d", p.status)
		}
		if n := countTo(smtp, u.Email, "sign-in code"); n != 0 {
			t.Errorf("%d sign-in codes sent to a locked account", n)
		}
		link := unlockLink(t, mailsTo(t, smtp, u.Email, lockTexts["en"].subject, 1)[0])
		step := b.signIn(b.get(link), u.Email, userPass)
		if !step.hasForm("/login/otp") {
			t.Fatalf("no code step after the unlock link's sign-in: status %d %.300s", step.status, step.body)
		}
		if got := e.reload(t, u.ID); got.LastLoginAt != nil {
			t.Errorf("unlocked before the code: last_login_at %v", got.LastLoginAt)
		}
		tok := e.tokensFor(t, b.submitOTP(t, step, loginCode(t, smtp, u.Email, 1)), a)
		wantAMR(t, tok, "pwd", "otp")
		if n := e.audited(t, u.ID, "account_unlocked", "success", "link"); n != 1 {
			t.Errorf("%d account_unlocked audited, want 1", n)
		}
		if got := e.reload(t, u.ID); got.LastLoginAt == nil {
			t.Error("last_login_at not moved by the unlocking sign-in")
		}
	})
}

// TestDormantAttemptsAtOnce: 40 right-password attempts at once on a
// locked account, through two server instances on one database, send at
// most the hourly cap of unlock mails and exactly one alert to each
// chosen recipient.
func TestDormantAttemptsAtOnce(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), func(c *config.Config) { c.Throttle.FreeFailures = 100 })
		e2 := e.second(e.store)
		boss := e.addUser("boss@example.com", "Boss", otherPass)
		if err := e.store.SetAlertRecipients(t.Context(), storage.DefaultOrganizationID, []string{boss.ID}, nil); err != nil {
			t.Fatal(err)
		}
		e.clock.add(91 * day)
		const n = 40
		type post struct {
			b    *browser
			form url.Values
			base string
		}
		posts := make([]post, n)
		for i := range posts {
			b := e.browser()
			vals, _ := formInputs(t, b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)).doc, "/login")
			base := e.ts.URL
			if i%2 == 1 {
				base = e2.ts.URL
			}
			posts[i] = post{b, url.Values{"id": {vals["id"]}, "email": {e.user.Email}, "password": {userPass}}, base}
		}
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for _, p := range posts {
			wg.Go(func() {
				res, err := p.b.send(p.b.postRequest(p.base+"/login", p.form, e.cfg.Issuer))
				if err != nil {
					t.Error(err)
					return
				}
				statuses <- res.status
			})
		}
		wg.Wait()
		close(statuses)
		locked := 0
		for s := range statuses {
			switch s {
			case http.StatusForbidden:
				locked++
			case http.StatusOK: // throttled: the ordinary answer
			default:
				t.Errorf("status %d; logged: %v", s, e.logs.errors())
			}
		}
		if locked == 0 {
			t.Fatal("no attempt reached the lock")
		}
		t.Logf("%d of %d attempts reached the lock", locked, n)
		if got := e.outboxed(t, "unlock", e.user.Email); got < 1 || got > e.cfg.OTP.MaxSendsPerHour {
			t.Errorf("%d unlock mails, want 1..%d", got, e.cfg.OTP.MaxSendsPerHour)
		}
		if got := e.outboxed(t, "dormant_alert", boss.Email); got != 1 {
			t.Errorf("%d alerts to the chosen recipient, want 1", got)
		}
	})
}

// TestUnlockLinkAfterTheRequest: a link opened once the application's
// sign-in has expired signs in to the account page instead, and unlocks.
func TestUnlockLinkAfterTheRequest(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		e.clock.add(91 * day)
		u := e.user
		b := e.browser()
		a := newAuthz("web", webCB, "openid")
		if p := b.signIn(b.get(a.url(e.cfg.Issuer)), u.Email, userPass); p.status != http.StatusForbidden {
			t.Fatalf("locked sign-in: status %d", p.status)
		}
		link := unlockLink(t, mailsTo(t, smtp, u.Email, lockTexts["en"].subject, 1)[0])
		e.clock.add(e.cfg.Lifetimes.AuthRequest.D() + time.Minute)
		other := e.browser()
		form := other.get(link)
		vals, _ := formInputs(t, form.doc, "/login")
		if vals["email"] != u.Email {
			t.Errorf("the form is not filled with the account: %q", vals["email"])
		}
		p := other.signIn(form, u.Email, userPass)
		if p.status != http.StatusOK || p.url.Path != "/account" {
			t.Fatalf("after the unlock: status %d at %s, want the account page", p.status, p.url)
		}
		if n := e.audited(t, u.ID, "account_unlocked", "success", "link"); n != 1 {
			t.Errorf("%d account_unlocked audited, want 1", n)
		}
	})
}

// TestResetUnlocks: a completed password reset proves the mailbox as the
// unlock link does: the locked account signs in and is unlocked, and its
// unlock link is spent.
func TestResetUnlocks(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		e.clock.add(91 * day)
		u := e.user
		b := e.browser()
		if p := b.signIn(b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), u.Email, userPass); p.status != http.StatusForbidden {
			t.Fatalf("locked sign-in: status %d", p.status)
		}
		link := unlockLink(t, mailsTo(t, smtp, u.Email, lockTexts["en"].subject, 1)[0])
		a := newAuthz("web", webCB, "openid")
		p := b.forgot(t, a, u.Email)
		code := mailtest.Code(mailsTo(t, smtp, u.Email, "code", 1)[0].Text)
		const newPass = "Fresh-start-42!"
		e.tokensFor(t, b.submitReset(t, p, code, newPass, newPass), a)
		if n := e.audited(t, u.ID, "account_unlocked", "success", "reset"); n != 1 {
			t.Errorf("%d account_unlocked (reset) audited, want 1", n)
		}
		if used := e.browser().get(link); used.status != http.StatusGone {
			t.Errorf("the unlock link after the reset: status %d, want 410", used.status)
		}
	})
}

// TestDormantLockLegacyForm: the legacy product's form applies the lock.
// An imported account that has not migrated, idle for 91 days, gets the
// legacy form's ordinary answer for a wrong password (status, text and
// floor, as an unknown account; no mail), and after the product's right
// password the locked page, exactly one identity-confirmation mail and
// one alert to the chosen administrator. The link opens the legacy form
// with the notice; signing in there with the product's password unlocks
// the account and continues the application's sign-in; the next sign-in
// is an ordinary legacy one. A link opened after the migration window
// leads to the unified form, whose reset (offered for the product's
// password) unlocks.
func TestDormantLockLegacyForm(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withLegacy, func(c *config.Config) {
			c.Legacy.WindowEndsAt = time.Now().Add(91*day + 10*time.Minute).Format(time.RFC3339)
		})
		e.run()
		kei := e.importLegacy(t, "L-91", "kei@example.com")
		boss := e.addUser("boss@example.com", "Boss", otherPass)
		if err := e.store.SetAlertRecipients(t.Context(), kei.OrganizationID, []string{boss.ID}, nil); err != nil {
			t.Fatal(err)
		}
		e.clock.add(91 * day)
		txt := lockTexts["en"]
		start := func() (*browser, *authz, page) {
			t.Helper()
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			a.extra.Set("acr_values", "urn:sekisho:acr:legacy")
			p := b.get(a.url(e.cfg.Issuer))
			if !p.hasForm("/login/legacy") {
				t.Fatalf("no legacy form: status %d at %s", p.status, p.url)
			}
			return b, a, p
		}
		post := func(b *browser, p page, email, pw string) (page, time.Duration) {
			t.Helper()
			vals, _ := formInputs(t, p.doc, "/login/legacy")
			started := time.Now()
			r := b.post(e.cfg.Issuer+"/login/legacy", url.Values{"id": {vals["id"]}, "email": {email}, "password": {pw}}, e.cfg.Issuer)
			return r, time.Since(started)
		}
		floor := e.cfg.Legacy.CheckFloor.D()

		// A wrong password: the legacy form's ordinary answer, nothing sent.
		b, _, form := start()
		wrong, took := post(b, form, kei.Email, "not-it")
		b2, _, form2 := start()
		unknown, _ := post(b2, form2, "nobody@example.com", "not-it")
		if wrong.status != http.StatusOK || !wrong.hasForm("/login/legacy") || !strings.Contains(alertText(wrong), "incorrect") ||
			alertText(wrong) != alertText(unknown) || wrong.status != unknown.status || took < floor {
			t.Errorf("wrong password: status %d %q in %v; unknown account: status %d %q",
				wrong.status, alertText(wrong), took, unknown.status, alertText(unknown))
		}
		if n := e.audited(t, kei.ID, "dormant_signin_attempt", "failure", ""); n != 0 {
			t.Errorf("%d dormant attempts audited after a wrong password", n)
		}
		if n := e.outboxed(t, "unlock", kei.Email); n != 0 {
			t.Errorf("%d unlock mails after a wrong password", n)
		}

		// The product's right password: locked, as on the unified form.
		b, a, form := start()
		p, _ := post(b, form, kei.Email, legacyPass)
		link := e.lockedMailed(t, smtp, p, kei, "en")
		mailsTo(t, smtp, boss.Email, "Sign-in attempt on a locked account", 1)
		if n := e.audited(t, kei.ID, "dormant_alert_sent", "success", ""); n != 1 {
			t.Errorf("%d dormant alerts audited, want 1", n)
		}

		// The link: the legacy form, filled, with the notice.
		again := b.get(link)
		if again.url.Path != "/login/legacy" || !again.hasForm("/login/legacy") ||
			!strings.Contains(roleText(again, "status"), txt.notice) || strings.Contains(again.url.String(), "token=") {
			t.Fatalf("unlock link: status %d at %s, notice %q", again.status, again.url, roleText(again, "status"))
		}
		if vals, _ := formInputs(t, again.doc, "/login/legacy"); vals["email"] != kei.Email {
			t.Errorf("the form is filled with %q, want the account's address", vals["email"])
		}
		// Signing in there unlocks: the legacy sign-in's invitation, then
		// back to the application.
		invite, _ := post(b, again, kei.Email, legacyPass)
		later := htmltest.Find(invite.doc, func(n *html.Node) bool {
			return htmltest.IsTag(n, "a") && strings.HasPrefix(htmltest.Attr(n, "href"), "/login?id=")
		})
		if invite.status != http.StatusOK || !invite.hasForm("/reset") || len(later) != 1 {
			t.Fatalf("after the unlocking sign-in: status %d %.300s", invite.status, htmltest.Text(invite.doc))
		}
		tok := e.tokensFor(t, b.get(e.cfg.Issuer+htmltest.Attr(later[0], "href")), a)
		if tok.IDTokenClaims.Subject != kei.ID || tok.IDTokenClaims.AuthenticationContextClassReference != "urn:sekisho:acr:legacy" {
			t.Errorf("signed in as %s with acr %q", tok.IDTokenClaims.Subject, tok.IDTokenClaims.AuthenticationContextClassReference)
		}
		got := e.reload(t, kei.ID)
		if got.LastLoginAt == nil || e.clock.now().Sub(*got.LastLoginAt) > time.Minute || !got.Imported() {
			t.Errorf("after the unlock: last_login_at %v, imported %v", got.LastLoginAt, got.Imported())
		}
		if n := e.audited(t, kei.ID, "account_unlocked", "success", "link"); n != 1 {
			t.Errorf("%d account_unlocked audited, want 1", n)
		}
		if n := countTo(smtp, kei.Email, txt.subject); n != 1 {
			t.Errorf("%d identity-confirmation mails, want exactly 1", n)
		}
		if used := e.browser().get(link); used.status != http.StatusGone {
			t.Errorf("the used link: status %d, want 410", used.status)
		}

		// A second sign-in: an ordinary legacy one.
		b3, _, form3 := start()
		if r, _ := post(b3, form3, kei.Email, legacyPass); r.status != http.StatusOK || !r.hasForm("/reset") {
			t.Errorf("the next legacy sign-in: status %d %.300s", r.status, htmltest.Text(r.doc))
		}
		if n := e.audited(t, kei.ID, "dormant_signin_attempt", "failure", ""); n != 1 {
			t.Errorf("%d dormant attempts audited in all, want 1", n)
		}

		// A link opened once the window has closed (the legacy form was
		// reached from the unified one's link): the unified form, where
		// the product's password offers the first-sign-in reset, which
		// migrates and unlocks.
		ren := e.importLegacy(t, "L-92", "ren@example.com")
		b4 := e.browser()
		a4 := newAuthz("web", webCB, "openid")
		vals4, _ := formInputs(t, b4.get(a4.url(e.cfg.Issuer)).doc, "/login")
		p4, _ := post(b4, b4.get(e.cfg.Issuer+"/login/legacy?id="+url.QueryEscape(vals4["id"])), ren.Email, legacyPass)
		link4 := e.lockedMailed(t, smtp, p4, ren, "en")
		e.clock.add(15 * time.Minute) // the window closes; the sign-in is still open
		unified := b4.get(link4)
		if unified.url.Path != "/login" || !unified.hasLoginForm() || !strings.Contains(roleText(unified, "status"), txt.notice) {
			t.Fatalf("unlock link after the window: status %d at %s, notice %q", unified.status, unified.url, roleText(unified, "status"))
		}
		offer := b4.signIn(unified, ren.Email, legacyPass)
		vals, _ := formInputs(t, offer.doc, "/reset")
		if vals["email"] != ren.Email {
			t.Fatalf("no reset offered after the window: status %d %.300s", offer.status, htmltest.Text(offer.doc))
		}
		codePage := b4.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {vals["email"]}}, e.cfg.Issuer)
		code := mailtest.Code(mailsTo(t, smtp, ren.Email, "password reset code", 1)[0].Text)
		e.tokensFor(t, b4.submitReset(t, codePage, code, newPass, newPass), a4)
		if n := e.audited(t, ren.ID, "account_unlocked", "success", "reset"); n != 1 {
			t.Errorf("%d account_unlocked (reset) audited, want 1", n)
		}
		if got := e.reload(t, ren.ID); got.Imported() || got.LastLoginAt == nil {
			t.Errorf("after the reset: imported %v, last_login_at %v", got.Imported(), got.LastLoginAt)
		}
	})
}
