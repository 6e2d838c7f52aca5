package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
)

const (
	uaLaptop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// listedDevice is one entry of the account page's signed-in devices.
type listedDevice struct {
	name    string            // browser, and "This device" for the current one
	fields  map[string]string // dt → dd
	session string            // the sign-out form's session, "" without one
}

// devicesOf reads the signed-in devices of an account page.
func devicesOf(t *testing.T, p page) []listedDevice {
	t.Helper()
	sec := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == "sessions" })
	if len(sec) != 1 {
		t.Fatalf("no sessions section at %s", p.url)
	}
	var out []listedDevice
	for _, li := range htmltest.Find(sec[0], func(n *html.Node) bool {
		return htmltest.IsTag(n, "li") && strings.Contains(htmltest.Attr(n, "class"), "device")
	}) {
		d := listedDevice{fields: map[string]string{}}
		if name := htmltest.Find(li, func(n *html.Node) bool { return htmltest.Attr(n, "class") == "device-name" }); len(name) == 1 {
			d.name = htmltest.Text(name[0])
		}
		for _, div := range htmltest.Find(li, func(n *html.Node) bool { return htmltest.IsTag(n, "div") }) {
			dt := htmltest.Find(div, func(n *html.Node) bool { return htmltest.IsTag(n, "dt") })
			dd := htmltest.Find(div, func(n *html.Node) bool { return htmltest.IsTag(n, "dd") })
			if len(dt) == 1 && len(dd) == 1 {
				var parts []string
				if apps := htmltest.Find(dd[0], func(n *html.Node) bool { return htmltest.IsTag(n, "li") }); len(apps) > 0 {
					for _, a := range apps {
						parts = append(parts, htmltest.Text(a))
					}
					d.fields[htmltest.Text(dt[0])] = strings.Join(parts, ", ")
				} else {
					d.fields[htmltest.Text(dt[0])] = htmltest.Text(dd[0])
				}
			}
		}
		for _, in := range htmltest.Find(li, func(n *html.Node) bool { return htmltest.IsTag(n, "input") }) {
			if htmltest.Attr(in, "name") == "session" {
				d.session = htmltest.Attr(in, "value")
			}
		}
		out = append(out, d)
	}
	return out
}

// sectionText is the text of the element with the id, "" without one.
func sectionText(p page, id string) string {
	n := htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == id })
	if len(n) == 0 {
		return ""
	}
	return htmltest.Text(n[0])
}

// TestAccountDevices: the account page lists the browsers signed in to
// the account (browser and system, address, times, applications); signing
// one out ends only that session, revokes its tokens and tells only its
// applications by back-channel logout, while the other device stays
// signed in. The page speaks both languages, shows times in the
// organization's time zone, names the application the person came from,
// and answers a failed form at that form.
func TestAccountDevices(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		rpA, rpB := newLogoutRP(t, 0), newLogoutRP(t, 0)
		e := newEnv(t, newStore(t), logoutClients(rpA, rpB, "http://127.0.0.1:9/fc"))
		e.run()

		phone := e.browser()
		phone.ua = uaPhone
		phoneTok := e.signInApps(t, phone, e.user.Email, userPass, "bc-a")["bc-a"]
		laptop := e.browser()
		laptop.ua = uaLaptop
		laptopTok := e.signInApps(t, laptop, e.user.Email, userPass, "bc-b")["bc-b"]

		p := laptop.get(e.cfg.Issuer + "/account?lang=en")
		if p.status != http.StatusOK || p.hasLoginForm() {
			t.Fatalf("account page: status %d", p.status)
		}
		got := devicesOf(t, p)
		if len(got) != 2 {
			t.Fatalf("%d devices listed, want 2: %+v", len(got), got)
		}
		this, other := got[0], got[1]
		if this.name != "Chrome (Windows) This device" || this.session != "" || this.fields["Applications"] != "BC-B" {
			t.Errorf("this device = %+v", this)
		}
		if other.name != "Safari (iOS)" || other.session != sidOf(phoneTok) || other.fields["Applications"] != "BC-A" ||
			other.fields["IP address"] != "127.0.0.1" {
			t.Errorf("the phone = %+v (sid %s)", other, sidOf(phoneTok))
		}
		// Times in the organization's zone (Asia/Tokyo), named.
		if at := other.fields["Last active"]; !strings.HasSuffix(at, " (JST)") {
			t.Errorf("last active %q, want a time in JST", at)
		}
		// The application this browser signed in to last.
		if back := sectionText(p, "account-back"); back != "Back to BC-B" {
			t.Errorf("back link %q, want Back to BC-B", back)
		}

		// A cross-site form post ends nothing.
		end := url.Values{"session": {other.session}}
		if r := laptop.post(e.cfg.Issuer+"/account/sessions/end", end, "https://evil.example"); r.status != http.StatusForbidden {
			t.Errorf("cross-site sign-out: status %d", r.status)
		}
		// Another account's session, or a made-up id, is "already signed
		// out", and ends nothing.
		if r := laptop.post(e.cfg.Issuer+"/account/sessions/end", url.Values{"session": {"no-such-session"}}, e.cfg.Issuer); sectionText(r, "sessions-error") != "That device is already signed out." {
			t.Errorf("unknown session: error %q", sectionText(r, "sessions-error"))
		}

		// Sign the phone out from the laptop.
		r := laptop.post(e.cfg.Issuer+"/account/sessions/end", end, e.cfg.Issuer)
		if r.status != http.StatusOK || sectionText(r, "sessions-notice") != "Safari (iOS) was signed out, and so were the applications used on it." {
			t.Fatalf("sign the phone out: status %d, notice %q, alert %q", r.status, sectionText(r, "sessions-notice"), alertText(r))
		}
		if left := devicesOf(t, r); len(left) != 1 || left[0].name != "Chrome (Windows) This device" {
			t.Errorf("devices after signing the phone out: %+v", left)
		}
		// bc-a, the phone's application, hears of that session; bc-b, the
		// laptop's, hears nothing.
		tokens := rpA.waitTokens(t, 1)
		e.verifyLogoutToken(t, tokens[0], "bc-a", sidOf(phoneTok), e.user.ID)
		settle()
		if got, _ := rpA.received(); len(got) != 1 {
			t.Errorf("bc-a received %d logout tokens, want 1", len(got))
		}
		if got, _ := rpB.received(); len(got) != 0 {
			t.Errorf("bc-b received %d logout tokens, want 0", len(got))
		}
		// The phone is signed out, its refresh token revoked; the laptop
		// stays signed in, its token works.
		if again := phone.get(e.cfg.Issuer + "/account"); !again.hasLoginForm() {
			t.Error("the phone is still signed in")
		}
		if status, _ := e.tokenPost(t, "bc-a", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {phoneTok.RefreshToken}}); status == http.StatusOK {
			t.Error("the phone's refresh token still works")
		}
		if status, body := e.tokenPost(t, "bc-b", webSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {laptopTok.RefreshToken}}); status != http.StatusOK {
			t.Errorf("the laptop's refresh token: status %d %v", status, body)
		}
		if again := laptop.get(e.cfg.Issuer + "/account"); again.hasLoginForm() {
			t.Error("the laptop was signed out too")
		}

		// In Japanese.
		ja := laptop.get(e.cfg.Issuer + "/account?lang=ja")
		if h := sectionText(ja, "sessions-title"); h != "ログイン中の端末" {
			t.Errorf("sessions heading %q", h)
		}
		if d := devicesOf(t, ja); len(d) != 1 || d[0].name != "Chrome (Windows) この端末" ||
			!strings.HasSuffix(d[0].fields["最終利用"], "（日本時間）") {
			t.Errorf("devices in Japanese: %+v", d)
		}
		var times []string
		for _, n := range htmltest.Find(ja.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "time") }) {
			times = append(times, htmltest.Text(n))
		}
		if len(times) == 0 || slices.ContainsFunc(times, func(s string) bool { return !strings.HasSuffix(s, "（日本時間）") }) {
			t.Errorf("times on the Japanese page: %q", times)
		}
		// A failed form answers at that form: the error in its section,
		// the page opened at the section's anchor.
		email := laptop.post(e.cfg.Issuer+"/account/email", url.Values{"email": {"new@example.com"}, "current_password": {"wrong"}}, e.cfg.Issuer)
		if got := sectionText(email, "email-error"); got != "現在のパスワードが正しくありません。" {
			t.Errorf("email form error %q", got)
		}
		if _, inputs := formInputs(t, email.doc, "/account/email#email"); len(inputs) == 0 {
			t.Error("the email form does not post to its anchor")
		}

		// An application linking to the page names itself: the link goes
		// back to its registered URI, never to an unregistered one.
		for _, tc := range []struct{ query, want string }{
			{"client_id=bc-a&return_to=" + url.QueryEscape(bcaCB), bcaCB},
			{"client_id=bc-a&return_to=" + url.QueryEscape("https://evil.example/"), "http://127.0.0.1/"},
			{"client_id=nobody&return_to=" + url.QueryEscape("https://evil.example/"), "http://127.0.0.1/"},
		} {
			p := laptop.get(e.cfg.Issuer + "/account?lang=en&" + tc.query)
			links := htmltest.Find(p.doc, func(n *html.Node) bool {
				return htmltest.IsTag(n, "a") && strings.HasPrefix(htmltest.Text(n), "Back to ")
			})
			if len(links) != 1 || htmltest.Attr(links[0], "href") != tc.want {
				t.Errorf("%s: back links %d, want one to %s", tc.query, len(links), tc.want)
			}
			if strings.Contains(p.body, "evil.example") {
				t.Errorf("%s: the page repeats an unregistered address", tc.query)
			}
		}
	})
}
