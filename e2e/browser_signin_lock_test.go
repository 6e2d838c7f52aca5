package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/storage"
)

// shootHere writes screenshots of the page the tab shows (a form's
// answer, which cannot be opened again) at both widths as
// <name>-<lang>-<device>.png, when screenshotsEnv names a directory.
func (p *person) shootHere(name, lang string) {
	p.t.Helper()
	dir := p.shotsDir()
	if dir == "" {
		return
	}
	for _, d := range devices {
		p.emulate(d)
		p.save(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", name, lang, d.name)))
	}
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		p.t.Fatal(err)
	}
}

// screenshotsOnce turns the screenshots off in a test of a store but the
// first: the pages are the same on every store (backends runs SQLite
// first, PostgreSQL second).
func screenshotsOnce(t *testing.T) {
	t.Helper()
	if !strings.HasSuffix(t.Name(), "/sqlite") {
		t.Setenv(screenshotsEnv, "")
	}
}

// signInForm opens the account page without a session, which shows the
// sign-in form, and switches it to lang.
func (p *person) signInForm(lang string) {
	p.t.Helper()
	if status := p.open("/account"); status != http.StatusOK || !strings.HasPrefix(p.path(), "/login?") {
		p.t.Fatalf("the account page without a session: %d at %s", status, p.path())
	}
	p.open(p.path() + "&lang=" + lang)
}

// TestBrowserSignInLock drives the dormant lock's sign-in side in
// chromium: after 91 idle days the right password, typed into the form
// by its autocomplete tokens, shows the locked page in the page's
// language; the identity-confirmation mail's link opens the sign-in page
// with its notice, and signing in there lands on the account page,
// unlocked. An expired link shows the page that says to sign in again;
// an account without an address is shown its administrators' names.
// On SQLite and PostgreSQL; with SEKISHO_SCREENSHOTS set it saves these
// pages (from SQLite).
func TestBrowserSignInLock(t *testing.T) {
	browser := newChromium(t)
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		screenshotsOnce(t)
		t.Run("with an address", func(t *testing.T) {
			smtp := startSMTP(t)
			e := newEnvSMTP(t, newStore(t), smtp)
			e.run()
			e.clock.add(91 * day)
			u := e.user
			alice := newPerson(t, browser, e.cfg.Issuer)
			// The locked page in both languages: each attempt mails a link,
			// the last one (English) supersedes the first.
			for i, lang := range []string{"ja", "en"} {
				txt := lockTexts[lang]
				alice.signInForm(lang)
				if status := alice.signIn(u.Email, userPass); status != http.StatusForbidden ||
					!strings.Contains(alice.text("#message"), txt.locked) || !strings.Contains(alice.text("#detail"), txt.mailed) {
					t.Fatalf("%s: locked page: %d at %s: %q %q", lang, status, alice.path(), alice.text("#message"), alice.text("#detail"))
				}
				if alice.count(`input[autocomplete="current-password"]`) != 0 || strings.Contains(alice.text("body"), u.Email) {
					t.Errorf("%s: the locked page offers the form or shows the address: %q", lang, alice.text("main"))
				}
				alice.shootHere("signin-locked", lang)
				mailsTo(t, smtp, u.Email, txt.subject, 1)
				if n := e.outboxed(t, "unlock", u.Email); n != i+1 {
					t.Errorf("%s: %d unlock mails, want %d", lang, n, i+1)
				}
			}
			link := unlockLink(t, mailsTo(t, smtp, u.Email, lockTexts["en"].subject, 1)[0])

			// The link: the sign-in page with its notice.
			if status := alice.open(link); status != http.StatusOK || !strings.HasPrefix(alice.path(), "/login") ||
				!strings.Contains(alice.text(`[role="status"]`), lockTexts["en"].notice) || strings.Contains(alice.path(), "token=") {
				t.Fatalf("the unlock link: %d at %s, notice %q", status, alice.path(), alice.text(`[role="status"]`))
			}
			if got, err := chromedp.Run(alice.ctx, chromedp.Evaluate[string](`document.querySelector('input[autocomplete="username"]').value`)); err != nil || got != u.Email {
				t.Errorf("the unlock link's form is filled with %q (%v), want the account's address", got, err)
			}
			signInPage := alice.path()
			alice.shoot("signin-unlock-notice", signInPage)
			alice.open(signInPage + "&lang=ja")
			if got := alice.text(`[role="status"]`); !strings.Contains(got, lockTexts["ja"].notice) {
				t.Errorf("ja notice %q", got)
			}
			alice.open(signInPage + "&lang=en")

			// Signing in there unlocks and lands on the account page.
			if status := alice.signIn("", userPass); status != http.StatusOK || alice.path() != "/account" ||
				!strings.Contains(alice.text("#account-email"), u.Email) {
				t.Fatalf("after the unlock: %d at %s: %q", status, alice.path(), alice.text("main"))
			}
			if got := e.reload(t, u.ID); got.LastLoginAt == nil || got.DormantAt != nil {
				t.Errorf("after the unlock: last_login_at %v, dormant_at %v", got.LastLoginAt, got.DormantAt)
			}
			if n := e.audited(t, u.ID, "account_unlocked", "success", "link"); n != 1 {
				t.Errorf("%d account_unlocked audited, want 1", n)
			}

			// Bob's link, opened after 25 hours: sign in again.
			bob := newPerson(t, browser, e.cfg.Issuer)
			bob.signInForm("en")
			if status := bob.signIn(e.other.Email, otherPass); status != http.StatusForbidden {
				t.Fatalf("bob locked: %d at %s", status, bob.path())
			}
			expired := unlockLink(t, mailsTo(t, smtp, e.other.Email, lockTexts["en"].subject, 1)[0])
			e.clock.add(25 * time.Hour)
			for _, lang := range []string{"ja", "en"} {
				if status := bob.open(expired + "&lang=" + lang); status != http.StatusGone ||
					!strings.Contains(bob.text("#message"), lockTexts[lang].expired) ||
					bob.count(`input[autocomplete="current-password"]`) != 0 || bob.count(`a[href="/account"]`) == 0 {
					t.Errorf("%s: expired link: %d: %q", lang, status, bob.text("main"))
				}
			}
			bob.shoot("unlock-expired", strings.TrimPrefix(expired, e.cfg.Issuer))
			// Its button leads to the sign-in form.
			if status := bob.press(`a[href="/account"]`); status != http.StatusOK || !strings.HasPrefix(bob.path(), "/login?") ||
				bob.count(`input[autocomplete="current-password"]`) != 1 {
				t.Errorf("the expired page's button: %d at %s", status, bob.path())
			}
			if got := e.reload(t, e.other.ID); got.LastLoginAt != nil {
				t.Errorf("the expired link moved last_login_at to %v", got.LastLoginAt)
			}
		})

		t.Run("without an address", func(t *testing.T) {
			e := newEnv(t, newStore(t), withMode(config.IdentifierOrgUsername), withRoles)
			hotel := e.addOrg(t, "H1", "Hotel")
			names := map[string]bool{}
			for i, role := range []string{"owner", "admin", "admin", "admin", "admin", "admin"} {
				m := e.addMember(t, hotel, "", fmt.Sprintf("boss%d", i), deskPass, role, false)
				name := []string{"小田 直樹", "阿部 真由美", "鈴木 一郎", "高橋 美咲", "中村 大輔", "小林 由美"}[i]
				if _, err := e.store.UpdateUser(t.Context(), m.ID, func(u storage.User) (storage.User, error) {
					u.Name = name
					return u, nil
				}); err != nil {
					t.Fatal(err)
				}
				names[name] = true
			}
			staff := e.addMember(t, hotel, "", "front1", deskPass, "staff", false)
			e.clock.add(91 * day)
			desk := newPerson(t, browser, e.cfg.Issuer)
			for lang, want := range map[string]string{"en": "contact one of them", "ja": "次の管理者にご連絡ください"} {
				desk.signInForm(lang)
				desk.typeInto(`input[autocomplete="organization"]`, "H1")
				if status := desk.signIn(staff.Username, deskPass); status != http.StatusForbidden || !strings.Contains(desk.text("#detail"), want) {
					t.Fatalf("%s: %d at %s: %q", lang, status, desk.path(), desk.text("#detail"))
				}
				items := strings.Split(strings.TrimSpace(desk.text("#names")), "\n")
				if len(items) != 5 || desk.count("#names li") != 5 {
					t.Errorf("%s: names %q, want 5", lang, items)
				}
				for _, n := range items {
					if !names[strings.TrimSpace(n)] {
						t.Errorf("%s: %q listed, not an administrator", lang, n)
					}
				}
				desk.shootHere("signin-locked-no-address", lang)
			}
		})
	})
}
