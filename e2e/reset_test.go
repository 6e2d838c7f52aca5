package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

const newPass = "New-horse-42!x"

func startSMTP(t *testing.T) *mailtest.Server {
	t.Helper()
	return mailtest.Start(t, mailtest.Options{Security: "starttls", Username: "mailer", Password: "mail-pass-1"})
}

// forgot opens the sign-in page of a new request for client, follows
// "Forgot your password?" and asks for a code for email. It returns the
// page with the code form.
func (b *browser) forgot(t *testing.T, a *authz, email string) page {
	t.Helper()
	p := b.forgotPage(t, a)
	vals, _ := formInputs(t, p.doc, "/reset")
	return b.post(b.e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {email}}, b.e.cfg.Issuer)
}

// forgotPage opens the sign-in page of a new request and follows its
// "Forgot your password?" link.
func (b *browser) forgotPage(t *testing.T, a *authz) page {
	t.Helper()
	login := b.get(a.url(b.e.cfg.Issuer))
	links := htmltest.Find(login.doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "a") && strings.HasPrefix(htmltest.Attr(n, "href"), "/reset?id=")
	})
	if len(links) != 1 {
		t.Fatalf("the login page has %d forgot-password links", len(links))
	}
	return b.get(b.e.cfg.Issuer + htmltest.Attr(links[0], "href"))
}

// submitReset posts the code form of p.
func (b *browser) submitReset(t *testing.T, p page, code, pw, confirm string) page {
	t.Helper()
	vals, inputs := formInputs(t, p.doc, "/reset/verify")
	for _, in := range inputs {
		if want := map[string]string{"code": "one-time-code", "password": "new-password", "confirm": "new-password"}[in["name"]]; want != "" && in["autocomplete"] != want {
			t.Errorf("input %s: autocomplete %q, want %q", in["name"], in["autocomplete"], want)
		}
	}
	form := url.Values{"id": {vals["id"]}, "ticket": {vals["ticket"]}, "code": {code}, "password": {pw}, "confirm": {confirm}}
	return b.post(b.e.cfg.Issuer+"/reset/verify", form, b.e.cfg.Issuer)
}

func alertText(p page) string { return roleText(p, "alert") }

// roleText is the text of the elements of p with the ARIA role.
func roleText(p page, role string) string {
	if p.doc == nil {
		return "" // not an HTML page (a redirect)
	}
	var out []string
	for _, n := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "role") == role }) {
		out = append(out, htmltest.Text(n))
	}
	return strings.Join(out, " ")
}

// TestPasswordReset: a forgotten password is reset with an emailed code;
// the sign-in continues, every earlier session ends and its clients hear
// of it.
func TestPasswordReset(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		rpA := newLogoutRP(t, 0)
		e := newEnvSMTP(t, newStore(t), smtp, logoutClients(rpA, newLogoutRP(t, 0), "http://127.0.0.1:9/fc"))
		e.run()
		old := e.signInApps(t, e.browser(), e.user.Email, userPass, "bc-a")["bc-a"]

		// Existing and unknown addresses get the same page and status.
		b := e.browser()
		a := newAuthz("bc-a", bcaCB, "openid offline_access")
		p := b.forgot(t, a, e.user.Email)
		unknown := e.browser().forgot(t, newAuthz("bc-a", bcaCB, "openid"), "nobody@example.com")
		if p.status != http.StatusOK || unknown.status != p.status || !unknown.hasForm("/reset/verify") ||
			htmltest.Text(unknown.doc) != htmltest.Text(p.doc) {
			t.Errorf("unknown address: status %d vs %d, or another page", unknown.status, p.status)
		}
		if !strings.Contains(htmltest.Text(p.doc), "valid for 15 minutes") {
			t.Errorf("the code page does not say how long the code is valid: %.400s", htmltest.Text(p.doc))
		}
		msg := smtp.WaitFor(t, mailtest.To(e.user.Email), waitLimit)
		code := mailtest.Code(msg.Text)
		if code == "" || !msg.TLS || msg.User != "mailer" || msg.Subject == "" || !strings.Contains(msg.HTML, code) {
			t.Fatalf("reset mail: code %q TLS %v user %q subject %q", code, msg.TLS, msg.User, msg.Subject)
		}

		// Bob's code does not reset Alice's password.
		bob := e.browser().forgot(t, newAuthz("bc-a", bcaCB, "openid"), e.other.Email)
		bobCode := mailtest.Code(smtp.WaitFor(t, mailtest.To(e.other.Email), waitLimit).Text)
		if r := b.submitReset(t, p, bobCode, newPass, newPass); !strings.Contains(alertText(r), "code") {
			t.Errorf("another account's code: %q", alertText(r))
		}
		// Every broken rule is listed.
		r := b.submitReset(t, p, code, "short", "short")
		items := htmltest.Find(r.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "li") })
		if v := alertText(r); !strings.Contains(v, "8") || !strings.Contains(v, "upper-case") || !strings.Contains(v, "digit") ||
			!strings.Contains(v, "symbol") || len(items) < 4 {
			t.Errorf("policy violations: %q", v)
		}
		if r := b.submitReset(t, p, code, newPass, newPass+"x"); !strings.Contains(alertText(r), "not the same") {
			t.Errorf("mismatch: %q", alertText(r))
		}

		// The right code: the sign-in continues.
		done := b.submitReset(t, p, code, newPass, newPass)
		tok, err := e.exchange(t, e.rp("bc-a", webSecret, bcaCB, "openid", "offline_access"), e.code(t, done, a), a)
		if err != nil {
			t.Fatalf("after reset: %v", err)
		}
		if amr := tok.IDTokenClaims.AuthenticationMethodsReferences; len(amr) != 2 || amr[0] != "pwd" || amr[1] != "otp" {
			t.Errorf("amr = %v, want [pwd otp]", amr)
		}
		if sidOf(tok) == sidOf(old) {
			t.Error("the reset kept the old session")
		}
		// The earlier session ended: its client heard, its refresh token fails.
		got := rpA.waitTokens(t, 1)
		e.verifyLogoutToken(t, got[0], "bc-a", sidOf(old), e.user.ID)
		if status, _ := e.tokenPost(t, "bc-a", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old.RefreshToken}}); status == http.StatusOK {
			t.Error("a refresh token from before the reset still works")
		}
		// A "password changed" mail; the code is spent; only the new password works.
		smtp.WaitFor(t, func(m mailtest.Received) bool {
			return mailtest.To(e.user.Email)(m) && mailtest.Code(m.Text) == "" && m.Subject != msg.Subject
		}, waitLimit)
		if r := b.submitReset(t, p, code, "Another-pass-9!", "Another-pass-9!"); r.status < 400 {
			t.Errorf("replayed code: status %d, want an error page (the sign-in is finished)", r.status)
		}
		fresh := e.browser()
		if r := fresh.signIn(fresh.get(newAuthz("bc-a", bcaCB, "openid").url(e.cfg.Issuer)), e.user.Email, userPass); !r.hasLoginForm() {
			t.Error("the old password still works")
		}
		a2 := newAuthz("bc-a", bcaCB, "openid")
		e.code(t, fresh.signIn(fresh.get(a2.url(e.cfg.Issuer)), e.user.Email, newPass), a2)
		if u, _ := e.store.GetUser(t.Context(), e.user.ID); !u.EmailVerified {
			t.Error("the reset did not mark the email verified")
		}

		// No mail ever went to the unknown address; bob's code is untouched.
		for _, m := range smtp.Messages() {
			if mailtest.To("nobody@example.com")(m) {
				t.Error("a mail went to an unknown address")
			}
		}
		_ = bob
	})
}

// TestResetCodeTries: five wrong codes end the code; even the right one
// is refused then.
func TestResetCodeTries(t *testing.T) {
	smtp := startSMTP(t)
	e := newEnvSMTP(t, gormstoretest.NewSQLite(t), smtp)
	e.run()
	b := e.browser()
	p := b.forgot(t, newAuthz("web", webCB, "openid"), e.user.Email)
	code := mailtest.Code(smtp.WaitFor(t, mailtest.To(e.user.Email), waitLimit).Text)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 1; i <= 5; i++ {
		r := b.submitReset(t, p, wrong, newPass, newPass)
		if i < 5 && !r.hasForm("/reset/verify") {
			t.Fatalf("wrong code %d: not the code page", i)
		}
		if i == 5 && (!r.hasForm("/reset") || !strings.Contains(alertText(r), "too many")) {
			t.Fatalf("fifth wrong code: want the email form with an explanation, got %q", alertText(r))
		}
	}
	if r := b.submitReset(t, p, code, newPass, newPass); r.status >= 300 && r.status < 400 {
		t.Error("the right code worked after five wrong ones")
	}
}

// TestMailSurvivesSMTPOutage: a code asked for while SMTP is down arrives
// once it is back; the subject of a Japanese mail arrives readable.
func TestMailSurvivesSMTPOutage(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		e.run()
		smtp.Stop()
		a := newAuthz("web", webCB, "openid")
		a.extra.Set("ui_locales", "ja")
		e.browser().forgot(t, a, e.user.Email)
		// The mail waits in the outbox, with the failure recorded.
		deadline := time.Now().Add(waitLimit)
		for {
			ms, err := e.store.ListMail(t.Context(), storage.DeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 1 && ms[0].Attempts >= 1 && ms[0].LastError != "" && ms[0].Status == storage.DeliveryPending {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("outbox while SMTP is down: %+v", ms)
			}
			time.Sleep(20 * time.Millisecond)
		}
		smtp.Restart()
		msg := smtp.WaitFor(t, mailtest.To(e.user.Email), waitLimit)
		if !strings.Contains(msg.Subject, "パスワード") || mailtest.Code(msg.Text) == "" {
			t.Errorf("Japanese reset mail: subject %q", msg.Subject)
		}
		deadline = time.Now().Add(waitLimit)
		for {
			ms, _ := e.store.ListMail(t.Context(), storage.DeliveryFilter{})
			if len(ms) == 1 && ms[0].Status == storage.DeliveryDelivered && ms[0].Body == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("outbox after delivery: %+v (want delivered, body dropped)", ms)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// A reset asked for an account whose mail cannot be written (a name with
// CR/LF stored before names were checked) answers exactly as for an
// unknown address: the same page and status, no mail, no server error.
func TestResetUndeliverableAnswersAsUnknown(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp)
		now := time.Now().UTC()
		bad := storage.User{ID: uuid.NewString(), Email: "eve@example.com", Name: "Eve\r\nBcc: mallory@example.com",
			EmailVerified: true, PasswordHash: e.user.PasswordHash, CreatedAt: now, UpdatedAt: now}
		if err := e.store.CreateUser(t.Context(), bad); err != nil {
			t.Fatal(err)
		}
		known := e.browser().forgot(t, newAuthz("web", webCB, "openid"), bad.Email)
		unknown := e.browser().forgot(t, newAuthz("web", webCB, "openid"), "nobody@example.com")
		if known.status != unknown.status || known.hasForm("/reset/verify") != unknown.hasForm("/reset/verify") ||
			textOf(known) != textOf(unknown) {
			t.Errorf("undeliverable account: %d %q; unknown address: %d %q", known.status, textOf(known), unknown.status, textOf(unknown))
		}
		if ms, _ := e.store.ListMail(t.Context(), storage.DeliveryFilter{}); len(ms) != 0 {
			t.Errorf("%d mails queued, want none", len(ms))
		}
		e.noErrorLogs(t)
	})
}
