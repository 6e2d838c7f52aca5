package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/localtime"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// switchLang posts a step's form as its language switch does: the form's
// fields as the person left them, with lang.
func (b *browser) switchLang(t *testing.T, p page, action string, typed url.Values, lang string) page {
	t.Helper()
	vals, _ := formInputs(t, p.doc, action)
	form := url.Values{"lang": {lang}}
	for k, v := range vals {
		form.Set(k, v)
	}
	for k, v := range typed {
		form[k] = v
	}
	return b.post(b.e.cfg.Issuer+action, form, b.e.cfg.Issuer)
}

// TestLanguageSwitchKeepsTheStep: the language switch of every step shows
// the same step in the other language, with the non-secret fields as
// typed (the address, the code) and never a password, and checks,
// counts and sends nothing; the step then goes on as before.
func TestLanguageSwitchKeepsTheStep(t *testing.T) {
	smtp := startSMTP(t)
	e := newEnvSMTP(t, gormstoretest.NewSQLite(t), smtp, withOTP("always"))
	e.run()
	secretTyped := "Typed-but-not-sent-back-1!"
	noPassword := func(t *testing.T, p page) {
		t.Helper()
		if strings.Contains(p.body, secretTyped) || strings.Contains(p.body, userPass) {
			t.Error("the page shows a typed password")
		}
	}
	for i, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			title := func(key string) string { return i18n.T(language.Make(lang), key) }
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			form := b.get(a.url(e.cfg.Issuer))
			sent := len(smtp.Messages())

			// The sign-in form: the address stays, the password does not,
			// and nothing is checked.
			sw := b.switchLang(t, form, "/login", url.Values{"email": {e.user.Email}, "password": {userPass}}, lang)
			vals, _ := formInputs(t, sw.doc, "/login")
			if sw.status != http.StatusOK || pageLang(sw.doc) != lang || heading(sw) != title("login.title") || vals["email"] != e.user.Email || vals["password"] != "" {
				t.Fatalf("sign-in form switch: %d lang %q h1 %q fields %v", sw.status, pageLang(sw.doc), heading(sw), vals)
			}
			noPassword(t, sw)
			if n := len(smtp.Messages()) - sent; n != 0 {
				t.Errorf("the switch sent %d mails", n)
			}

			// The emailed code step: the same step, the typed code kept.
			step := b.signIn(sw, e.user.Email, userPass)
			sw = b.switchLang(t, step, "/login/otp", url.Values{"code": {"12"}}, lang)
			vals, _ = formInputs(t, sw.doc, "/login/otp")
			stepVals, _ := formInputs(t, step.doc, "/login/otp")
			if sw.status != http.StatusOK || pageLang(sw.doc) != lang || heading(sw) != title("otp.title") || vals["code"] != "12" ||
				vals["ticket"] != stepVals["ticket"] || !sw.hasForm("/login/otp/resend") {
				t.Fatalf("code step switch: %d lang %q h1 %q fields %v", sw.status, pageLang(sw.doc), heading(sw), vals)
			}
			code := mailtest.Code(mailsTo(t, smtp, e.user.Email, "", i+1)[i].Text)
			if done := b.submitOTP(t, sw, code); done.status != http.StatusFound && done.status != http.StatusSeeOther {
				t.Fatalf("the code after the switch: %d: %.300s", done.status, htmltest.Text(done.doc))
			}

			// "Forgot your password?": the account stays, no code is sent.
			before := len(smtp.Messages())
			// (A browser without the session that now exists.)
			b = e.browser()
			forgot := b.forgotPage(t, newAuthz("web", webCB, "openid"))
			sw = b.switchLang(t, forgot, "/reset", url.Values{"email": {"someone@example.com"}}, lang)
			vals, _ = formInputs(t, sw.doc, "/reset")
			if sw.status != http.StatusOK || pageLang(sw.doc) != lang || vals["email"] != "someone@example.com" || sw.hasForm("/reset/verify") {
				t.Fatalf("forgot switch: %d lang %q fields %v", sw.status, pageLang(sw.doc), vals)
			}

			// The reset code step: the code stays, the new passwords do not.
			codePage := b.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {e.other.Email}}, e.cfg.Issuer)
			sw = b.switchLang(t, codePage, "/reset/verify", url.Values{"code": {"123456"}, "password": {secretTyped}, "confirm": {secretTyped}}, lang)
			vals, _ = formInputs(t, sw.doc, "/reset/verify")
			if sw.status != http.StatusOK || pageLang(sw.doc) != lang || heading(sw) != title("reset.title") || vals["code"] != "123456" ||
				vals["password"] != "" || vals["confirm"] != "" {
				t.Fatalf("reset code switch: %d lang %q fields %v", sw.status, pageLang(sw.doc), vals)
			}
			noPassword(t, sw)
			mailsTo(t, smtp, e.other.Email, "", i+1)
			if got := len(smtp.Messages()) - before; got != 1 {
				t.Errorf("%d mails from the forgot form and the switches, want 1 (the code)", got)
			}
		})
	}

	t.Run("forced change", func(t *testing.T) {
		e2 := newEnv(t, gormstoretest.NewSQLite(t))
		e2.run()
		if _, err := e2.store.UpdateUser(t.Context(), e2.other.ID, func(u storage.User) (storage.User, error) {
			u.MustChangePassword = true
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		b := e2.browser()
		step := b.signIn(b.get(newAuthz("web", webCB, "openid").url(e2.cfg.Issuer)), e2.other.Email, otherPass)
		if !step.hasForm("/login/password") {
			t.Fatalf("no forced change: %d %.300s", step.status, htmltest.Text(step.doc))
		}
		for _, lang := range []string{"ja", "en"} {
			sw := b.switchLang(t, step, "/login/password", url.Values{"password": {secretTyped}, "confirm": {secretTyped}}, lang)
			vals, _ := formInputs(t, sw.doc, "/login/password")
			stepVals, _ := formInputs(t, step.doc, "/login/password")
			if sw.status != http.StatusOK || pageLang(sw.doc) != lang || vals["ticket"] != stepVals["ticket"] || vals["password"] != "" {
				t.Fatalf("%s: forced change switch: %d lang %q fields %v", lang, sw.status, pageLang(sw.doc), vals)
			}
			noPassword(t, sw)
		}
		if u, _ := e2.store.GetUser(t.Context(), e2.other.ID); !u.MustChangePassword {
			t.Error("the switch changed the password")
		}
	})
}

// TestLegacyFirstSignInPage: after the legacy password, the page's one
// action sends the code; a language switch keeps this page and the
// account; the migration deadline is named in the organization's time
// zone and the page's language.
func TestLegacyFirstSignInPage(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		end := time.Now().Add(40 * 24 * time.Hour).UTC().Truncate(time.Minute)
		e := newEnv(t, newStore(t), withLegacy, func(c *config.Config) { c.Legacy.WindowEndsAt = end.Format(time.RFC3339) })
		e.run()
		kei := e.importLegacy(t, "L-9", "kei@example.com")
		org, err := e.store.GetOrganization(t.Context(), storage.DefaultOrganizationID)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := time.LoadLocation(org.TimeZone)
		if err != nil {
			t.Fatal(err)
		}
		local := end.In(loc)
		want := map[string]string{
			"ja": "Old Shopの移行期間は" + localtime.Format("ja", local) + "までです。",
			"en": "The migration period for Old Shop ends on " + localtime.Format("en", local) + ".",
		}
		b := e.browser()
		form := b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer) + "&ui_locales=en")
		offer := b.signIn(form, kei.Email, legacyPass)
		for _, lang := range []string{"en", "ja", "en"} {
			if lang != pageLang(offer.doc) {
				offer = b.switchLang(t, offer, "/reset", nil, lang)
			}
			if offer.status != http.StatusOK || pageLang(offer.doc) != lang {
				t.Fatalf("%s: %d lang %q", lang, offer.status, pageLang(offer.doc))
			}
			if got := htmltest.Text(byIDIn(t, offer, "legacy-deadline")); got != want[lang] {
				t.Errorf("%s: deadline %q, want %q", lang, got, want[lang])
			}
			if offer.hasLoginForm() {
				t.Errorf("%s: the first sign-in offers the password form again", lang)
			}
			vals, _ := formInputs(t, offer.doc, "/reset")
			if vals["email"] != kei.Email {
				t.Errorf("%s: the code goes to %q, want %q", lang, vals["email"], kei.Email)
			}
			primary := htmltest.Find(offer.doc, func(n *html.Node) bool {
				return n.Type == html.ElementNode && strings.Contains(" "+htmltest.Attr(n, "class")+" ", " primary ")
			})
			if len(primary) != 1 || htmltest.Text(primary[0]) != i18n.T(language.Make(lang), "legacy.send_code") {
				t.Errorf("%s: primary actions %d, want one: send the code", lang, len(primary))
			}
		}
	})
}

// nodeTexts are the texts of the nodes.
func nodeTexts(nodes []*html.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, htmltest.Text(n))
	}
	return out
}

// byIDIn is the element of p with the id; the test ends without one.
func byIDIn(t *testing.T, p page, id string) *html.Node {
	t.Helper()
	n := htmltest.Find(p.doc, func(n *html.Node) bool { return n.Type == html.ElementNode && htmltest.Attr(n, "id") == id })
	if len(n) == 0 {
		t.Fatalf("no #%s (status %d): %.300s", id, p.status, htmltest.Text(p.doc))
	}
	return n[0]
}

// TestSignOutConfirmation: the confirmation names the account and the
// applications the session signed in to, and its cancel returns to the
// application (the registered post_logout_redirect_uri with its state,
// else the client's home, else the account page), never to an
// unregistered address.
func TestSignOutConfirmation(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t))
		e.run()
		b := e.browser()
		e.signInFresh(t, b, "openid")
		// The session's second application (tokens issued to it).
		a2 := newAuthz("web2", web2CB, "openid")
		if _, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid"), e.code(t, b.get(a2.url(e.cfg.Issuer)), a2), a2); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			path, lang, cancel string
		}{
			{"/end_session?client_id=web&post_logout_redirect_uri=" + url.QueryEscape(webHome) + "&state=s1", "ja", webHome + "?state=s1"},
			{"/end_session?client_id=web2", "en", e.clientHome(t, "web2")},
			{"/logout", "ja", "/account"},
			{"/end_session?post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/"), "en", "/account"},
		} {
			sep := "&"
			if !strings.Contains(tc.path, "?") {
				sep = "?"
			}
			p := b.get(e.cfg.Issuer + tc.path + sep + "lang=" + tc.lang)
			if p.status != http.StatusOK || pageLang(p.doc) != tc.lang || !p.hasForm("/end_session") {
				t.Fatalf("%s: %d lang %q", tc.path, p.status, pageLang(p.doc))
			}
			tag := language.Make(tc.lang)
			account := nodeTexts(htmltest.Find(byIDIn(t, p, "logout-account"), func(n *html.Node) bool { return htmltest.IsTag(n, "dd") }))
			if len(account) != 1 || account[0] != e.user.Email {
				t.Errorf("%s: account %q, want %s", tc.path, account, e.user.Email)
			}
			apps := nodeTexts(htmltest.Find(byIDIn(t, p, "logout-applications"), func(n *html.Node) bool { return htmltest.IsTag(n, "li") }))
			if strings.Join(apps, "|") != "Web App|Second App" {
				t.Errorf("%s: applications %q, want Web App and Second App", tc.path, apps)
			}
			if got := htmltest.Attr(byIDIn(t, p, "logout-cancel"), "href"); strings.TrimSuffix(got, "/") != strings.TrimSuffix(tc.cancel, "/") {
				t.Errorf("%s: cancel %q, want %q", tc.path, got, tc.cancel)
			}
			if got := htmltest.Text(byIDIn(t, p, "logout-cancel")); got != i18n.T(tag, "logout.cancel") {
				t.Errorf("%s: cancel reads %q", tc.path, got)
			}
			for _, n := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") || htmltest.IsTag(n, "input") }) {
				if v := htmltest.Attr(n, "href") + htmltest.Attr(n, "value"); strings.Contains(v, "evil.example") && !htmltest.HasAttr(n, "hreflang") {
					t.Errorf("%s: <%s> leads to or posts the unregistered address: %q", tc.path, n.Data, v)
				}
			}
		}

		// No session: nobody is named, no cancel to an account page.
		p := e.browser().get(e.cfg.Issuer + "/logout?lang=en")
		if p.status != http.StatusOK || strings.Contains(p.body, "logout-account") || strings.Contains(p.body, "logout-cancel") {
			t.Errorf("/logout without a session: %d %.300s", p.status, htmltest.Text(p.doc))
		}
	})
}

// clientHome is where the pages link back to a client.
func (e *env) clientHome(t *testing.T, id string) string {
	t.Helper()
	cl, ok := e.cfg.Client(id)
	if !ok {
		t.Fatalf("no client %s", id)
	}
	if len(cl.PostLogoutRedirectURIs) > 0 {
		return cl.PostLogoutRedirectURIs[0]
	}
	u, _ := url.Parse(cl.RedirectURIs[0])
	return u.Scheme + "://" + u.Host
}

// TestExpiredAndUnknownRequests: an expired sign-in explains itself in
// the page's language and offers the application's sign-in start (its
// initiate_login_uri with iss, or its home); an unknown request id gets
// a readable page, on every page that takes one.
func TestExpiredAndUnknownRequests(t *testing.T) {
	e := newEnv(t, gormstoretest.NewSQLite(t), func(c *config.Config) {
		c.Clients[1].InitiateLoginURI = "https://app2.example.com/sso/start?from=sekisho"
	})
	e.run()
	// A finished request (its code used) says so and offers the start.
	done := e.browser()
	a := newAuthz("web", webCB, "openid")
	form := done.get(a.url(e.cfg.Issuer))
	vals, _ := formInputs(t, form.doc, "/login")
	e.tokensFor(t, done.signIn(form, e.user.Email, userPass), a)
	if p := done.get(e.cfg.Issuer + "/login?id=" + url.QueryEscape(vals["id"]) + "&lang=en"); p.status != http.StatusGone ||
		heading(p) != "This sign-in is already complete" || htmltest.Attr(byIDIn(t, p, "error-back"), "href") != webHome {
		t.Errorf("a finished request: %d %q", p.status, htmltest.Text(p.doc))
	}

	b := e.browser()
	web := b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer))
	web2 := b.get(newAuthz(e.cfg.Clients[1].ID, e.cfg.Clients[1].RedirectURIs[0], "openid").url(e.cfg.Issuer))
	e.clock.add(31 * time.Minute)
	restart := "https://app2.example.com/sso/start?from=sekisho&iss=" + url.QueryEscape(e.cfg.Issuer)
	for _, tc := range []struct {
		name, lang string
		p          page
		button     string
		href       string
	}{
		{"home ja", "ja", web, "「Web App」にもう一度ログインする", webHome},
		{"home en", "en", web, "Sign in to Web App again", webHome},
		{"initiate_login_uri ja", "ja", web2, "「" + e.cfg.Clients[1].Name.JA + "」にもう一度ログインする", restart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, _ := formInputs(t, tc.p.doc, "/login")
			p := b.get(e.cfg.Issuer + "/login?id=" + url.QueryEscape(vals["id"]) + "&lang=" + tc.lang)
			tag := language.Make(tc.lang)
			if p.status != http.StatusGone || heading(p) != i18n.T(tag, "error.expired.title") ||
				!strings.Contains(htmltest.Text(p.doc), i18n.T(tag, "error.expired")) {
				t.Fatalf("expired: %d %q", p.status, htmltest.Text(p.doc))
			}
			back := byIDIn(t, p, "error-back")
			if htmltest.Text(back) != tc.button || htmltest.Attr(back, "href") != tc.href {
				t.Errorf("button %q → %q, want %q → %q", htmltest.Text(back), htmltest.Attr(back, "href"), tc.button, tc.href)
			}
		})
	}
	for _, path := range []string{"/login?id=nope", "/reset?id=nope", "/login/legacy?id=nope"} {
		for _, lang := range []string{"ja", "en"} {
			p := b.get(e.cfg.Issuer + path + "&lang=" + lang)
			tag := language.Make(lang)
			if p.status != http.StatusNotFound || heading(p) != i18n.T(tag, "error.unknown_request.title") ||
				!strings.Contains(htmltest.Text(p.doc), i18n.T(tag, "error.unknown_request")) || htmltest.Attr(byIDIn(t, p, "error-back"), "href") != "/" {
				t.Errorf("%s %s: %d %q", path, lang, p.status, htmltest.Text(p.doc))
			}
		}
	}
	// A posted step with an unknown id: the same page.
	p := b.post(e.cfg.Issuer+"/login/otp", url.Values{"id": {"nope"}, "code": {"123456"}}, e.cfg.Issuer)
	if p.status != http.StatusNotFound || heading(p) == "" || byIDIn(t, p, "error-back") == nil {
		t.Errorf("posted unknown step: %d", p.status)
	}
}

// TestLandingPage: / names the product and leads to the account page;
// without --dev it has no demo link.
func TestLandingPage(t *testing.T) {
	e := newEnv(t, gormstoretest.NewSQLite(t))
	e.run()
	for _, lang := range []string{"ja", "en"} {
		p := e.browser().get(e.cfg.Issuer + "/?lang=" + lang)
		tag := language.Make(lang)
		if p.status != http.StatusOK || pageLang(p.doc) != lang || heading(p) != "sekisho" {
			t.Fatalf("%s: %d lang %q h1 %q", lang, p.status, pageLang(p.doc), heading(p))
		}
		account := byIDIn(t, p, "home-account")
		if htmltest.Attr(account, "href") != "/account" || htmltest.Text(account) != i18n.T(tag, "home.account") {
			t.Errorf("%s: account link %q", lang, htmltest.Text(account))
		}
		if strings.Contains(p.body, "home-demo") {
			t.Errorf("%s: a demo link without --dev", lang)
		}
	}
	if p := e.browser().get(e.cfg.Issuer + "/nothing-here"); p.status != http.StatusNotFound {
		t.Errorf("/nothing-here: %d, want 404", p.status)
	}
}
