package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sekisho/sekisho/storage"
)

// TestPasswordPolicyCores: a new password is refused when it is a common
// password or a context word in disguise: the product's name, the legacy
// product's name (legacy.name), the account's display name. The page
// names the rule broken, in the browser's language.
func TestPasswordPolicyCores(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		e := newEnv(t, newStore(t), withLegacy)
		const email, pass = "kw@example.com", "Glacier-Plum-Kites-7"
		e.addUser(email, "Kei Watanuki", pass)
		b := e.browser()
		e.openAccount(t, b, email, pass)
		change := func(pw, lang string) string {
			t.Helper()
			p := b.post(e.cfg.Issuer+"/account/password?ui_locales="+lang,
				url.Values{"current_password": {pass}, "password": {pw}, "confirm": {pw}}, e.cfg.Issuer)
			return alertText(p) + noticeText(p)
		}
		for _, tc := range []struct{ pw, want string }{
			{"Password1!", "neither a common password nor this service's name"},
			{"P@ssw0rd2024!", "neither a common password nor this service's name"},
			{"Sekisho2024!", "neither a common password nor this service's name"},
			{"OldShop#2024", "neither a common password nor this service's name"},
			{"Watanuki2024!", "login ID or name"},
		} {
			if got := change(tc.pw, "en"); !strings.Contains(got, tc.want) || strings.Contains(got, "was changed") {
				t.Errorf("new password %q: %q, want refused with %q", tc.pw, got, tc.want)
			}
		}
		if got := change("Sekisho2024!", "ja"); !strings.Contains(got, "サービス名") {
			t.Errorf("in Japanese: %q", got)
		}
		if got := change("Watanuki2024!", "ja"); !strings.Contains(got, "お名前") {
			t.Errorf("in Japanese: %q", got)
		}
		if got := change("Demo-password-1!", "en"); !strings.Contains(got, "was changed") {
			t.Errorf("an ordinary password: %q", got)
		}
	})
}
