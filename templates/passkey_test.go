package templates

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/htmltest"
)

// The pages that offer passkeys load static/passkey.js and only they add
// connect-src 'self' (the script asks for a ceremony's options); the
// sign-in form's account field offers passkeys in its autofill.
func TestPasskeyPages(t *testing.T) {
	r := newRenderer(t)
	const base = "default-src 'none'; style-src 'self'"
	mfa := &MFASection{PasskeysOn: true, Strong: true, RecoveryLeft: 10,
		Passkeys: []PasskeyEntry{{ID: "pk1", Name: "Work laptop", Created: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}}}
	for _, tc := range []struct {
		name    string
		render  func(b Base) (*httptest.ResponseRecorder, error)
		passkey bool
		form    string // the passkey form's id
	}{
		{"login", func(b Base) (*httptest.ResponseRecorder, error) {
			w := recorder(base)
			return w, r.RenderLogin(w, 200, LoginPage{Base: b, AuthRequestID: "r1", Passkey: true, Account: AccountFields{Webauthn: true}})
		}, true, "passkey-form"},
		{"login without passkeys", func(b Base) (*httptest.ResponseRecorder, error) {
			w := recorder(base)
			return w, r.RenderLogin(w, 200, LoginPage{Base: b, AuthRequestID: "r1"})
		}, false, ""},
		{"account", func(b Base) (*httptest.ResponseRecorder, error) {
			w := recorder(base)
			return w, r.RenderAccount(w, 200, AccountPage{Base: b, Email: "a@example.com", MFA: mfa})
		}, true, "passkey-add"},
		{"second factor", func(b Base) (*httptest.ResponseRecorder, error) {
			w := recorder(base)
			return w, r.RenderMFAStep(w, 200, MFAStepPage{Base: b, AuthRequestID: "r1", Ticket: "t", Method: "passkey", Passkey: true})
		}, true, "mfa-passkey-form"},
		{"enrolment", func(b Base) (*httptest.ResponseRecorder, error) {
			w := recorder(base)
			return w, r.RenderMFAStep(w, 200, MFAStepPage{Base: b, AuthRequestID: "r1", Ticket: "t", Method: "enrol",
				Enrol: &TOTPEnrol{QR: "data:image/png;base64,AA", Secret: "ABCD", URI: "otpauth://totp/x"}, PasskeyEnrol: true})
		}, true, "mfa-enrol-passkey-form"},
		{"enrolment without passkeys", func(b Base) (*httptest.ResponseRecorder, error) {
			w := recorder(base)
			return w, r.RenderMFAStep(w, 200, MFAStepPage{Base: b, AuthRequestID: "r1", Ticket: "t", Method: "enrol",
				Enrol: &TOTPEnrol{QR: "data:image/png;base64,AA", Secret: "ABCD", URI: "otpauth://totp/x"}})
		}, false, ""},
	} {
		for _, l := range langs {
			t.Run(tc.name+"/"+l.code, func(t *testing.T) {
				w, err := tc.render(Base{Lang: l.tag})
				if err != nil {
					t.Fatal(err)
				}
				csp := w.Header().Get("Content-Security-Policy")
				if got := strings.Contains(csp, "; connect-src 'self'"); got != tc.passkey || strings.Count(csp, "script-src") > 1 {
					t.Errorf("CSP %q", csp)
				}
				doc := parseHTML(t, w.Body.String())
				var src []string
				for _, s := range htmltest.Find(doc, tagIs("script")) {
					src = append(src, htmltest.Attr(s, "src"))
				}
				has := strings.Contains(strings.Join(src, " "), "/static/passkey.js?v=")
				if has != tc.passkey {
					t.Errorf("scripts %v", src)
				}
				if !tc.passkey {
					return
				}
				form := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == tc.form })
				if len(form) != 1 || htmltest.Attr(form[0], "data-begin") == "" || htmltest.Attr(form[0], "method") != "post" {
					t.Fatalf("passkey form %s: %v", tc.form, form)
				}
				for _, name := range []string{"ceremony", "credential"} {
					if len(htmltest.Find(form[0], func(n *html.Node) bool { return htmltest.Attr(n, "name") == name })) != 1 {
						t.Errorf("form %s has no %s field", tc.form, name)
					}
				}
				if tc.name == "login" {
					email := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.Attr(n, "id") == "email" })
					if len(email) != 1 || htmltest.Attr(email[0], "autocomplete") != "username webauthn" {
						t.Errorf("account field autocomplete %v", email)
					}
				}
			})
		}
	}
}

func recorder(csp string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Security-Policy", csp)
	return w
}
