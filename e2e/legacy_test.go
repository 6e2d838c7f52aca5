package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/mail/mailtest"
	"github.com/sekisho/sekisho/storage"
)

const legacyPass = "old-site-pass"

// importLegacy imports one user of the legacy product with a bcrypt hash
// of legacyPass, as `sekisho legacy import` does.
func (e *env) importLegacy(t *testing.T, id, email string) storage.User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(legacyPass), 10)
	if err != nil {
		t.Fatal(err)
	}
	return e.importLegacyHash(t, id, email, string(hash))
}

// importLegacyHash imports one user with the given hash, unchecked (as an
// earlier version, with other bounds, may have imported it).
func (e *env) importLegacyHash(t *testing.T, id, email, hash string) storage.User {
	t.Helper()
	res, err := e.store.ImportLegacyUsers(t.Context(), []storage.LegacyUser{{LegacyID: id, Email: email, Name: "Kei",
		PasswordHash: hash}}, time.Now(), false)
	if err != nil || res[0].Outcome != storage.ImportCreated {
		t.Fatalf("import: %+v %v", res, err)
	}
	u, err := e.store.GetUserByLegacyID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func withLegacy(c *config.Config) {
	c.Legacy = config.Legacy{Enabled: true, Name: config.Labels{JA: "Old Shop", EN: "Old Shop"}, CheckFloor: config.Duration(150 * time.Millisecond)}
	c.Clients[0].LegacyClaims = true
}

// TestLegacyMigration: the legacy password on the unified form leads to
// the reset, which migrates the user; the sign-in they started continues
// with the same sub, and tokens carry legacy_id for clients that ask.
func TestLegacyMigration(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withLegacy)
		e.run()
		kei := e.importLegacy(t, "L-77", "kei@example.com")

		b := e.browser()
		a := newAuthz("web", webCB, "openid email legacy")
		login := b.get(a.url(e.cfg.Issuer))
		if n := htmltest.Find(login.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == "legacy-notice" }); len(n) != 1 ||
			!strings.Contains(htmltest.Text(n[0]), "Old Shop") {
			t.Error("no notice for the legacy product's users on the sign-in page")
		}
		// A wrong password: the ordinary answer, after the floor.
		started := time.Now()
		wrong := b.signIn(login, kei.Email, "not-it")
		if !strings.Contains(alertText(wrong), "incorrect") || wrong.hasForm("/reset") && strings.Contains(wrong.body, "legacy-reset") {
			t.Errorf("wrong legacy password: %q", alertText(wrong))
		}
		if time.Since(started) < 150*time.Millisecond {
			t.Error("a failing check returned before the floor")
		}
		unknown := b.signIn(login, "nobody@example.com", "not-it")
		if alertText(unknown) != alertText(wrong) || unknown.status != wrong.status {
			t.Error("an unknown account answers differently from a wrong legacy password")
		}
		// The legacy password: not signed in, the reset offered.
		offer := b.signIn(login, kei.Email, legacyPass)
		if offer.status != http.StatusOK || !offer.hasForm("/reset") || !strings.Contains(offer.body, "legacy-reset") {
			t.Fatalf("legacy password: status %d %.300s", offer.status, htmltest.Text(offer.doc))
		}
		vals, _ := formInputs(t, offer.doc, "/reset")
		if vals["email"] != kei.Email {
			t.Errorf("reset offer for %q, want %q", vals["email"], kei.Email)
		}
		codePage := b.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {vals["email"]}}, e.cfg.Issuer)
		code := mailsTo(t, smtp, kei.Email, "password reset code", 1)[0]
		done := b.submitReset(t, codePage, mailtest.Code(code.Text), newPass, newPass)
		tok := e.tokensFor(t, done, a)
		if tok.IDTokenClaims.Subject != kei.ID {
			t.Errorf("sub after migration = %q, want the imported user's %q", tok.IDTokenClaims.Subject, kei.ID)
		}
		if got := tok.IDTokenClaims.Claims["legacy_id"]; got != "L-77" {
			t.Errorf("legacy_id claim = %v", got)
		}
		u, _ := e.store.GetUser(t.Context(), kei.ID)
		if u.Imported() || u.MigratedAt == nil || u.LegacyHash != "" || !u.EmailVerified {
			t.Errorf("after the reset: %+v", u)
		}
		if ev, _ := e.store.ListAuditEvents(t.Context(), storage.AuditFilter{UserID: kei.ID, Type: "legacy_migrated"}); len(ev) != 1 {
			t.Errorf("%d legacy_migrated audit events, want 1", len(ev))
		}
		// Now only the new password works on the unified form.
		fresh := e.browser()
		if r := fresh.signIn(fresh.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)), kei.Email, legacyPass); !r.hasLoginForm() ||
			strings.Contains(r.body, "legacy-reset") {
			t.Error("the legacy password still does something after migration")
		}
		a2 := newAuthz("web", webCB, "openid")
		e.code(t, fresh.signIn(fresh.get(a2.url(e.cfg.Issuer)), kei.Email, newPass), a2)
		// A client without legacy_claims gets no legacy_id.
		a3 := newAuthz("web2", web2CB, "openid")
		tok3, err := e.exchange(t, e.rp("web2", web2Secret, web2CB, "openid"), e.code(t, fresh.get(a3.url(e.cfg.Issuer)), a3), a3)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tok3.IDTokenClaims.Claims["legacy_id"]; ok {
			t.Error("a client without legacy_claims got legacy_id")
		}
	})
}

// TestLegacySignIn: the legacy form during the window (reached through
// acr_values), its invitation to set a unified password, its refusal of a
// migrated user, and its closing after the window.
func TestLegacySignIn(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		e := newEnvSMTP(t, newStore(t), smtp, withLegacy, func(c *config.Config) {
			c.Legacy.WindowEndsAt = time.Now().Add(time.Hour).Format(time.RFC3339)
		})
		e.run()
		kei := e.importLegacy(t, "L-1", "kei@example.com")

		b := e.browser()
		a := newAuthz("web", webCB, "openid email")
		a.extra.Set("acr_values", "urn:sekisho:acr:legacy")
		form := b.get(a.url(e.cfg.Issuer))
		if form.url.Path != "/login/legacy" || !form.hasForm("/login/legacy") {
			t.Fatalf("acr_values legacy: landed on %s (status %d)", form.url, form.status)
		}
		post := func(p page, email, pw string) page {
			vals, inputs := formInputs(t, p.doc, "/login/legacy")
			for _, in := range inputs {
				if w := map[string]string{"email": "username", "password": "current-password"}[in["name"]]; w != "" && in["autocomplete"] != w {
					t.Errorf("legacy form %s: autocomplete %q", in["name"], in["autocomplete"])
				}
			}
			return b.post(e.cfg.Issuer+"/login/legacy", url.Values{"id": {vals["id"]}, "email": {email}, "password": {pw}}, e.cfg.Issuer)
		}
		if r := post(form, kei.Email, "not-it"); !strings.Contains(alertText(r), "incorrect") {
			t.Errorf("wrong legacy password: %q", alertText(r))
		}
		invite := post(form, kei.Email, legacyPass)
		if invite.status != http.StatusOK || !invite.hasForm("/reset") {
			t.Fatalf("after a legacy sign-in: status %d %.300s", invite.status, htmltest.Text(invite.doc))
		}
		later := htmltest.Find(invite.doc, func(n *html.Node) bool {
			return htmltest.IsTag(n, "a") && strings.HasPrefix(htmltest.Attr(n, "href"), "/login?id=")
		})
		if len(later) != 1 {
			t.Fatal("no way to continue later")
		}
		tok := e.tokensFor(t, b.get(e.cfg.Issuer+htmltest.Attr(later[0], "href")), a)
		if amr := tok.IDTokenClaims.AuthenticationMethodsReferences; strings.Join(amr, " ") != "pwd" ||
			tok.IDTokenClaims.AuthenticationContextClassReference != "urn:sekisho:acr:legacy" || tok.IDTokenClaims.Subject != kei.ID {
			t.Errorf("legacy sign-in: amr %v acr %q sub %q", amr, tok.IDTokenClaims.AuthenticationContextClassReference, tok.IDTokenClaims.Subject)
		}
		if u, _ := e.store.GetUser(t.Context(), kei.ID); !u.Imported() {
			t.Error("a legacy sign-in migrated the user")
		}

		// The invitation's "now" (in another sign-in): the reset migrates;
		// afterwards the legacy form refuses the old password.
		b = e.browser()
		an := newAuthz("web", webCB, "openid")
		an.extra.Set("acr_values", "urn:sekisho:acr:legacy")
		invite = post(b.get(an.url(e.cfg.Issuer)), kei.Email, legacyPass)
		vals, _ := formInputs(t, invite.doc, "/reset")
		codePage := b.post(e.cfg.Issuer+"/reset", url.Values{"id": {vals["id"]}, "email": {vals["email"]}}, e.cfg.Issuer)
		done := b.submitReset(t, codePage, mailtest.Code(mailsTo(t, smtp, kei.Email, "password reset code", 1)[0].Text), newPass, newPass)
		e.code(t, done, an)
		if u, _ := e.store.GetUser(t.Context(), kei.ID); u.Imported() {
			t.Fatal("the reset from the invitation did not migrate")
		}
		fresh := e.browser()
		a2 := newAuthz("web", webCB, "openid")
		a2.extra.Set("acr_values", "urn:sekisho:acr:legacy")
		if r := post(fresh.get(a2.url(e.cfg.Issuer)), kei.Email, legacyPass); !strings.Contains(alertText(r), "incorrect") {
			t.Errorf("a migrated user's old password on the legacy form: %q", alertText(r))
		}

		// After the window the legacy form is closed, and says so.
		e.clock.add(2 * time.Hour)
		closed := e.browser().get(a2.url(e.cfg.Issuer))
		if closed.status != http.StatusGone || !strings.Contains(htmltest.Text(closed.doc), "ended") ||
			len(htmltest.Find(closed.doc, func(n *html.Node) bool { return strings.HasPrefix(htmltest.Attr(n, "href"), "/reset?id=") })) != 1 {
			t.Errorf("after the window: status %d %.300s", closed.status, htmltest.Text(closed.doc))
		}
		if p := e.browser().get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer)); strings.Contains(p.body, "legacy-notice") {
			t.Error("the notice is still shown after the window")
		}
	})
}

// TestLegacyFormsOrganizationModes: in both organization modes the
// legacy product's users, imported into their organization, find the
// mode's fields on the legacy form (organization, and the account name
// or address) and on the unified form; the legacy password on either
// leads to the first-sign-in reset for that account, already filled in,
// which migrates it and continues the sign-in with the same sub. The
// same address in another organization is not that account.
func TestLegacyFormsOrganizationModes(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte(legacyPass), 10)
	if err != nil {
		t.Fatal(err)
	}
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		smtp := startSMTP(t)
		for i, mode := range []string{config.IdentifierOrgEmail, config.IdentifierOrgUsername} {
			t.Run(mode, func(t *testing.T) {
				e := newEnvSMTP(t, newStore(t), smtp, withLegacy, withMode(mode), func(c *config.Config) {
					c.Legacy.WindowEndsAt = time.Now().Add(time.Hour).Format(time.RFC3339)
				})
				e.run()
				hotel := e.addOrg(t, "HOTEL-3", "Hotel Three")
				e.addOrg(t, "SHOP-3", "Shop Three")
				addr := fmt.Sprintf("kei%d@hotel.example", i)
				account := addr
				if mode == config.IdentifierOrgUsername {
					account = "kei-front"
				}
				users := []storage.LegacyUser{
					{LegacyID: "LH-1", Email: addr, Name: "Kei", PasswordHash: string(hash), OrganizationID: hotel.ID, Username: "kei-front"},
				}
				if res, err := e.store.ImportLegacyUsers(t.Context(), users, time.Now(), false); err != nil || res[0].Outcome != storage.ImportCreated {
					t.Fatalf("import: %+v %v", res, err)
				}
				kei, err := e.store.GetUserByLegacyID(t.Context(), "LH-1")
				if err != nil {
					t.Fatal(err)
				}

				// The legacy form: the mode's fields; another organization's
				// code gets the ordinary answer; the right one the invitation.
				b := e.browser()
				a := newAuthz("web", webCB, "openid")
				a.extra.Set("acr_values", "urn:sekisho:acr:legacy")
				form := b.get(a.url(e.cfg.Issuer))
				accountInputs(t, form, "/login/legacy", mode)
				post := func(org, pw string) page {
					return b.post(e.cfg.Issuer+"/login/legacy", accountForm(t, form, "/login/legacy", org, account, url.Values{"password": {pw}}), e.cfg.Issuer)
				}
				if r := post("shop-3", legacyPass); !strings.Contains(alertText(r), "incorrect") {
					t.Errorf("another organization's code on the legacy form: %d %q", r.status, alertText(r))
				}
				if invite := post("hotel-3", legacyPass); invite.status != http.StatusOK || !invite.hasForm("/reset") {
					t.Fatalf("the legacy password on the legacy form: status %d %.300s", invite.status, htmltest.Text(invite.doc))
				}

				// The unified form: the first sign-in offers the reset for
				// the account, filled in; the reset migrates it.
				b = e.browser()
				a = newAuthz("web", webCB, "openid")
				login := b.get(a.url(e.cfg.Issuer))
				accountInputs(t, login, "/login", mode)
				offer := b.signInAs(t, login, "hotel-3", account, legacyPass)
				if offer.status != http.StatusOK || !offer.hasForm("/reset") || !strings.Contains(offer.body, "legacy-reset") {
					t.Fatalf("the legacy password on the unified form: status %d %.300s", offer.status, htmltest.Text(offer.doc))
				}
				vals, _ := formInputs(t, offer.doc, "/reset")
				want := map[string]string{"organization": "HOTEL-3", "email": addr}
				if mode == config.IdentifierOrgUsername {
					want = map[string]string{"organization": "HOTEL-3", "username": "kei-front"}
				}
				form2 := url.Values{"id": {vals["id"]}}
				for k, v := range want {
					if !strings.EqualFold(vals[k], v) {
						t.Errorf("reset offer %s = %q, want %q", k, vals[k], v)
					}
					form2.Set(k, vals[k])
				}
				codePage := b.post(e.cfg.Issuer+"/reset", form2, e.cfg.Issuer)
				code := mailtest.Code(mailsTo(t, smtp, addr, "password reset code", 1)[0].Text)
				tok := e.tokensFor(t, b.submitReset(t, codePage, code, newPass, newPass), a)
				if tok.IDTokenClaims.Subject != kei.ID {
					t.Errorf("sub after the migration = %q, want %q", tok.IDTokenClaims.Subject, kei.ID)
				}
				if u := e.reload(t, kei.ID); u.Imported() || u.MigratedAt == nil || u.OrganizationID != hotel.ID || !u.EmailVerified {
					t.Errorf("after the reset: %+v", u)
				}
			})
		}
	})
}
