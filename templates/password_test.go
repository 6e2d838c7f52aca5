package templates

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/password"
)

// policyMessages are a policy's rules as the pages get them.
func policyMessages(p password.Policy) []Message {
	var out []Message
	for _, r := range p.Rules() {
		out = append(out, Message{Key: r.Key, Args: r.Args})
	}
	return out
}

// The summary under a new password says the policy in a sentence or
// three, in the page's language.
func TestRuleSummary(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rules  []Message
		en, ja string
	}{
		{"default", policyMessages(password.DefaultPolicy()),
			"8 to 128 characters, including an upper-case letter, a lower-case letter, a digit and a symbol. Not your email address, login ID or name. Not a common password.",
			"8〜128文字で、英大文字・英小文字・数字・記号を含めてください。メールアドレス、ログインID、お名前は使用できません。よく使われているパスワードは使用できません。"},
		{"nist", policyMessages(password.NISTPolicy()),
			"15 to 128 characters. Not your email address, login ID or name. Not a common password.",
			"15〜128文字にしてください。メールアドレス、ログインID、お名前は使用できません。よく使われているパスワードは使用できません。"},
		{"one kind", []Message{{password.KeyTooShort, []any{10}}, {password.KeyTooLong, []any{64}}, {password.KeyNeedDigit, nil}},
			"10 to 64 characters, including a digit.", "10〜64文字で、数字を含めてください。"},
		{"two kinds", []Message{{password.KeyTooShort, []any{10}}, {password.KeyTooLong, []any{64}}, {password.KeyNeedLower, nil}, {password.KeyNeedSymbol, nil}},
			"10 to 64 characters, including a lower-case letter and a symbol.", "10〜64文字で、英小文字・記号を含めてください。"},
		{"none", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ruleSummary(i18n.NewPrinter(language.English), tc.rules); got != tc.en {
				t.Errorf("en = %q, want %q", got, tc.en)
			}
			if got := ruleSummary(i18n.NewPrinter(language.Japanese), tc.rules); got != tc.ja {
				t.Errorf("ja = %q, want %q", got, tc.ja)
			}
		})
	}
}

// checkNewPassword checks the new-password fields id and confirmID under
// root: without violations the first is described by the rule summary;
// with them, by only the broken rules, in the summary's place; a mismatch
// is said under the confirmation, which it describes. No password is put
// back.
func checkNewPassword(t *testing.T, root *html.Node, tag language.Tag, id, confirmID string, rules, violations []Message, mismatch bool) {
	t.Helper()
	pw, confirm := byID(root, id), byID(root, confirmID)
	if pw == nil || confirm == nil {
		t.Fatalf("#%s or #%s missing", id, confirmID)
	}
	for _, in := range []*html.Node{pw, confirm} {
		if htmltest.HasAttr(in, "value") || htmltest.Attr(in, "type") != "password" || htmltest.Attr(in, "autocomplete") != "new-password" {
			t.Errorf("#%s: type %q autocomplete %q value %v", htmltest.Attr(in, "id"), htmltest.Attr(in, "type"),
				htmltest.Attr(in, "autocomplete"), htmltest.HasAttr(in, "value"))
		}
	}
	field := pw.Parent
	if violations == nil {
		want := ruleSummary(i18n.NewPrinter(tag), rules)
		checkText(t, field, id+"-rules", want)
		checkText(t, root, id+"-violations", "")
		if got := htmltest.Attr(pw, "aria-describedby"); got != id+"-rules" {
			t.Errorf("#%s aria-describedby = %q, want %q", id, got, id+"-rules")
		}
		if htmltest.HasAttr(pw, "aria-invalid") {
			t.Errorf("#%s is aria-invalid without violations", id)
		}
	} else {
		v := byID(field, id+"-violations")
		if v == nil {
			t.Fatalf("#%s-violations is not under the field", id)
		}
		if diff := cmp.Diff(ruleTexts(tag, violations), listItems(field, id+"-violations")); diff != "" {
			t.Errorf("violations (-want +got):\n%s", diff)
		}
		if htmltest.Attr(v, "role") != "alert" {
			t.Errorf("violations role = %q", htmltest.Attr(v, "role"))
		}
		checkText(t, root, id+"-rules", "")
		if got := htmltest.Attr(pw, "aria-describedby"); got != id+"-violations" {
			t.Errorf("#%s aria-describedby = %q, want %q", id, got, id+"-violations")
		}
		if htmltest.Attr(pw, "aria-invalid") != "true" {
			t.Errorf("#%s is not aria-invalid", id)
		}
	}
	wantMismatch := ""
	if mismatch {
		wantMismatch = i18n.T(tag, KeyPasswordMismatch)
		if got := htmltest.Attr(confirm, "aria-describedby"); got != confirmID+"-error" || htmltest.Attr(confirm, "aria-invalid") != "true" {
			t.Errorf("#%s aria-describedby = %q, aria-invalid %q", confirmID, got, htmltest.Attr(confirm, "aria-invalid"))
		}
	}
	checkText(t, confirm.Parent, confirmID+"-error", wantMismatch)
	// The mismatch is said once, under the field.
	wantN := 0
	if mismatch {
		wantN = 1
	}
	if n := strings.Count(htmltest.Text(root), i18n.T(tag, KeyPasswordMismatch)); n != wantN {
		t.Errorf("the mismatch is said %d times, want %d", n, wantN)
	}
}

// checkManagerName checks that form carries the account's name for
// password managers in a field no one sees, or none when name is empty.
func checkManagerName(t *testing.T, form *html.Node, name string) {
	t.Helper()
	found := htmltest.Find(form, func(n *html.Node) bool {
		return htmltest.IsTag(n, "input") && htmltest.Attr(n, "autocomplete") == "username"
	})
	if name == "" {
		if len(found) != 0 {
			t.Errorf("username field without an account: %v", attrs(found, "value"))
		}
		return
	}
	if len(found) != 1 {
		t.Fatalf("%d username fields, want 1", len(found))
	}
	in := found[0]
	if htmltest.Attr(in, "value") != name || htmltest.Attr(in, "type") != "text" || !htmltest.HasAttr(in, "hidden") {
		t.Errorf("username field: type %q value %q hidden %v, want a hidden text field with %q", htmltest.Attr(in, "type"),
			htmltest.Attr(in, "value"), htmltest.HasAttr(in, "hidden"), name)
	}
}

var defaultRules = policyMessages(password.DefaultPolicy())

var broken = []Message{{password.KeyNeedUpper, nil}, {password.KeyCommon, nil}}

// Every form that sets a password sums the rules up under the new
// password, shows only the broken rules there after a refusal, says a
// mismatch under the confirmation, keeps the code and the other fields
// that are not secret, and names the account for password managers.
func TestNewPasswordFields(t *testing.T) {
	r := newRenderer(t)
	type state struct {
		name       string
		violations []Message
		errKey     string
	}
	states := []state{{"first", nil, ""}, {"violations", broken, ""}, {"mismatch", nil, KeyPasswordMismatch}}
	for _, l := range langs {
		for _, st := range states {
			mismatch := st.errKey == KeyPasswordMismatch
			t.Run("reset/"+st.name+"/"+l.code, func(t *testing.T) {
				p := ResetPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Ticket: "tk", ValidMinutes: 15, Rules: defaultRules,
					Violations: st.violations, Error: st.errKey, Account: "aiko@example.com"}
				if st.name != "first" {
					p.Code = "123456"
				}
				doc := renderDoc(t, func(w http.ResponseWriter) error { return r.RenderReset(w, http.StatusOK, p) })
				form := formByAction(doc, "/reset/verify")[0]
				checkNewPassword(t, form, l.tag, "password", "confirm", defaultRules, st.violations, mismatch)
				checkManagerName(t, form, "aiko@example.com")
				code := byID(form, "code")
				if got := htmltest.Attr(code, "value"); got != p.Code {
					t.Errorf("code = %q, want %q", got, p.Code)
				}
				// The field to fix takes the focus: the code first, the
				// password once the code is in.
				if got, want := htmltest.HasAttr(code, "autofocus"), p.Code == ""; got != want {
					t.Errorf("code autofocus = %v, want %v", got, want)
				}
				if got, want := htmltest.HasAttr(byID(form, "password"), "autofocus"), p.Code != ""; got != want {
					t.Errorf("password autofocus = %v, want %v", got, want)
				}
				checkText(t, doc, "reset-error", "")
				checkText(t, doc, "code-error", "")
			})
			t.Run("change/"+st.name+"/"+l.code, func(t *testing.T) {
				p := ChangePasswordPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Ticket: "tk", Rules: defaultRules,
					Violations: st.violations, Error: st.errKey, Account: "frontdesk"}
				doc := renderDoc(t, func(w http.ResponseWriter) error { return r.RenderChangePassword(w, http.StatusOK, p) })
				form := formByAction(doc, "/login/password")[0]
				checkNewPassword(t, form, l.tag, "password", "confirm", defaultRules, st.violations, mismatch)
				checkManagerName(t, form, "frontdesk")
				if !htmltest.HasAttr(byID(form, "password"), "autofocus") {
					t.Error("the new password has no autofocus")
				}
			})
			t.Run("invite/"+st.name+"/"+l.code, func(t *testing.T) {
				p := InvitePage{Base: Base{Lang: l.tag}, Email: "mika@example.com", Rules: defaultRules,
					Violations: st.violations, Error: st.errKey}
				doc := renderDoc(t, func(w http.ResponseWriter) error { return r.RenderInvite(w, http.StatusOK, p) })
				form := formByAction(doc, "/invite")[0]
				checkNewPassword(t, form, l.tag, "password", "confirm", defaultRules, st.violations, mismatch)
				// The invitation shows the address, read-only, as the
				// username password managers save.
				if in := byID(form, "invite-email"); htmltest.Attr(in, "autocomplete") != "username" || htmltest.Attr(in, "value") != "mika@example.com" ||
					!htmltest.HasAttr(in, "readonly") {
					t.Errorf("invite-email: autocomplete %q value %q", htmltest.Attr(in, "autocomplete"), htmltest.Attr(in, "value"))
				}
				checkText(t, doc, "invite-error", "")
			})
			t.Run("account/"+st.name+"/"+l.code, func(t *testing.T) {
				p := AccountPage{Base: Base{Lang: l.tag}, Email: "aiko@example.com", Rules: defaultRules, Account: "aiko@example.com",
					Section: "password", Violations: st.violations, Error: Message{Key: st.errKey}}
				doc := renderDoc(t, func(w http.ResponseWriter) error { return r.RenderAccount(w, http.StatusOK, p) })
				form := formStartingWith(t, doc, "/account/password")
				checkNewPassword(t, form, l.tag, "new-password", "confirm-password", defaultRules, st.violations, mismatch)
				checkManagerName(t, form, "aiko@example.com")
				checkManagerName(t, formStartingWith(t, doc, "/account/email"), "")
			})
			t.Run("console/"+st.name+"/"+l.code, func(t *testing.T) {
				base := testAdminBase(Base{Lang: l.tag}, "members")
				field := ""
				if mismatch {
					base.Error, field = Message{Key: KeyPasswordMismatch}, "password"
				}
				p := AdminNewMemberPage{AdminBase: base, ByUsername: true, Name: "Aoi", Username: "aoi", Email: "aoi@example.com",
					Rules: defaultRules, Violations: st.violations, Field: field, InviteHours: 72}
				doc := renderDoc(t, func(w http.ResponseWriter) error { return r.RenderAdminNewMember(w, http.StatusOK, p) })
				form := formByAction(doc, "/admin/members/new")[0]
				checkNewPassword(t, form, l.tag, "password", "confirm", defaultRules, st.violations, mismatch)
				for id, want := range map[string]string{"name": "Aoi", "username": "aoi", "email": "aoi@example.com"} {
					if got := htmltest.Attr(byID(form, id), "value"); got != want {
						t.Errorf("#%s = %q, want %q (kept)", id, got, want)
					}
				}
				checkText(t, doc, "error", "")
			})
		}
		// A wrong code is said under the code field, which is emptied and
		// takes the focus.
		t.Run("reset/wrong code/"+l.code, func(t *testing.T) {
			p := ResetPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Ticket: "tk", ValidMinutes: 15, Rules: defaultRules,
				Error: KeyWrongResetCode, Code: "999999", Account: "frontdesk"}
			doc := renderDoc(t, func(w http.ResponseWriter) error { return r.RenderReset(w, http.StatusOK, p) })
			code := byID(doc, "code")
			checkText(t, code.Parent, "code-error", i18n.T(l.tag, KeyWrongResetCode))
			if htmltest.Attr(code, "aria-describedby") != "code-error" || htmltest.Attr(code, "aria-invalid") != "true" ||
				htmltest.HasAttr(code, "value") && htmltest.Attr(code, "value") != "" || !htmltest.HasAttr(code, "autofocus") {
				t.Errorf("code: describedby %q invalid %q value %q", htmltest.Attr(code, "aria-describedby"),
					htmltest.Attr(code, "aria-invalid"), htmltest.Attr(code, "value"))
			}
			checkText(t, doc, "reset-error", "")
			checkManagerName(t, formByAction(doc, "/reset/verify")[0], "frontdesk")
		})
		// A wrong current password is said under its field.
		t.Run("account/current password/"+l.code, func(t *testing.T) {
			p := AccountPage{Base: Base{Lang: l.tag}, Email: "aiko@example.com", Rules: defaultRules, Section: "password",
				Error: Message{Key: KeyWrongCurrentPassword}}
			doc := renderDoc(t, func(w http.ResponseWriter) error { return r.RenderAccount(w, http.StatusOK, p) })
			cur := byID(doc, "current-password")
			checkText(t, cur.Parent, "current-password-error", i18n.T(l.tag, KeyWrongCurrentPassword))
			if htmltest.Attr(cur, "aria-describedby") != "current-password-error" || htmltest.Attr(cur, "aria-invalid") != "true" {
				t.Errorf("current-password: describedby %q", htmltest.Attr(cur, "aria-describedby"))
			}
			checkText(t, doc, "password-error", "")
		})
	}
}

// formStartingWith is the one form of doc whose action starts with path
// (the account page's forms add a query and their anchor).
func formStartingWith(t *testing.T, doc *html.Node, path string) *html.Node {
	t.Helper()
	forms := htmltest.Find(doc, func(n *html.Node) bool {
		a := htmltest.Attr(n, "action")
		return htmltest.IsTag(n, "form") && (a == path || strings.HasPrefix(a, path+"#") || strings.HasPrefix(a, path+"?"))
	})
	if len(forms) != 1 {
		t.Fatalf("%d forms posting to %s, want 1", len(forms), path)
	}
	return forms[0]
}

// renderDoc renders a page and returns the document.
func renderDoc(t *testing.T, render func(w http.ResponseWriter) error) *html.Node {
	t.Helper()
	w := httptest.NewRecorder()
	if err := render(w); err != nil {
		t.Fatal(err)
	}
	return parseHTML(t, w.Body.String())
}

// The pages with password fields or the resend countdown load our one
// script, and only they are served with script-src 'self'; the script
// gets its texts in the page's language.
func TestScriptPages(t *testing.T) {
	r := newRenderer(t)
	const base = "default-src 'none'; style-src 'self'"
	scripted := map[string]bool{"login": true, "login error": true, "reset": true, "otp": true, "otp cooldown": true,
		"change password": true, "account": true, "invite": true, "admin new member": true,
		"forgot": false, "error": false, "logout confirm": false, "signed out": false, "demo signed in": false,
		"message": false, "admin members": false, "admin member": false}
	for _, pc := range pageCases {
		want, ok := scripted[pc.name]
		if !ok {
			continue
		}
		for _, l := range langs {
			t.Run(pc.name+"/"+l.code, func(t *testing.T) {
				w := httptest.NewRecorder()
				w.Header().Set("Content-Security-Policy", base)
				if err := pc.render(r, w, Base{Lang: l.tag}); err != nil {
					t.Fatal(err)
				}
				csp := w.Header().Get("Content-Security-Policy")
				if got := csp == base+"; script-src 'self'"; got != want || !want && csp != base {
					t.Errorf("CSP = %q, want script-src 'self': %v", csp, want)
				}
				doc := parseHTML(t, w.Body.String())
				scripts := htmltest.Find(doc, tagIs("script"))
				if (len(scripts) == 1) != want || len(scripts) > 1 {
					t.Fatalf("%d scripts, want the script: %v", len(scripts), want)
				}
				if !want {
					return
				}
				s := scripts[0]
				if !strings.HasPrefix(htmltest.Attr(s, "src"), "/static/forms.js?v=") || !htmltest.HasAttr(s, "defer") {
					t.Errorf("script src %q defer %v", htmltest.Attr(s, "src"), htmltest.HasAttr(s, "defer"))
				}
				T := func(key string) string { return i18n.NewPrinter(l.tag).T(key) }
				for attr, want := range map[string]string{"data-show": T("password.show"), "data-hide": T("password.hide"),
					"data-show-label": T("password.show_label"), "data-hide-label": T("password.hide_label"),
					"data-resend-wait": T("otp.resend_wait")} {
					if got := htmltest.Attr(s, attr); got != want || got == "" {
						t.Errorf("%s = %q, want %q", attr, got, want)
					}
				}
				if !strings.Contains(htmltest.Attr(s, "data-resend-wait"), "%d") {
					t.Errorf("data-resend-wait %q has no %%d for the script", htmltest.Attr(s, "data-resend-wait"))
				}
			})
		}
	}
	// A page whose caller set no CSP gets none from the renderer.
	w := httptest.NewRecorder()
	if err := r.RenderOTP(w, http.StatusOK, OTPPage{Base: Base{Lang: language.English}}); err != nil {
		t.Fatal(err)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != "" {
		t.Errorf("CSP without a caller's = %q", got)
	}
}

// During the cooldown the resend button is shown disabled, with the
// seconds left in a sentence and in data-resend-in for the script; after
// it, the button is plain.
func TestOTPResendCountdown(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		for _, left := range []int{0, 1, 27} {
			t.Run(l.code+"/"+strconv.Itoa(left), func(t *testing.T) {
				doc := renderDoc(t, func(w http.ResponseWriter) error {
					return r.RenderOTP(w, http.StatusOK, OTPPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Ticket: "tk",
						MaskedEmail: "a***@example.com", ValidMinutes: 5, ResendIn: left})
				})
				form := formByAction(doc, "/login/otp/resend")[0]
				button := byID(form, "resend")
				if button == nil || htmltest.Text(button) != i18n.T(l.tag, "otp.resend") {
					t.Fatalf("resend button missing")
				}
				if left == 0 {
					for _, a := range []string{"aria-disabled", "data-resend-in", "aria-describedby", "disabled"} {
						if htmltest.HasAttr(button, a) {
							t.Errorf("after the cooldown the button has %s", a)
						}
					}
					checkText(t, doc, "resend-wait", "")
					return
				}
				for a, want := range map[string]string{"aria-disabled": "true", "data-resend-in": strconv.Itoa(left),
					"aria-describedby": "resend-wait"} {
					if got := htmltest.Attr(button, a); got != want {
						t.Errorf("%s = %q, want %q", a, got, want)
					}
				}
				// Without the script the button still posts: the server
				// answers a press that comes too early.
				if htmltest.HasAttr(button, "disabled") {
					t.Error("the button is disabled for browsers without the script")
				}
				checkText(t, form, "resend-wait", i18n.T(l.tag, "otp.resend_wait", left))
			})
		}
	}
}
