package templates

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/i18n"
)

// stepForm is the id of the form the language switch of a page case
// posts again (pageCases), or "" for a page whose switch is two links.
func stepForm(caseName string) string {
	for _, s := range []struct{ prefix, form string }{
		{"login legacy reset", "legacy-reset-form"},
		{"login", "login-form"},
		{"forgot", "forgot-form"},
		{"reset", "reset-form"},
		{"otp", "otp-form"},
		{"change password", "change-form"},
	} {
		if strings.HasPrefix(caseName, s.prefix) {
			return s.form
		}
	}
	return ""
}

// checkLangButtons checks the language switch of a step's page: two
// buttons that post the form with the id form again with lang=en or
// lang=ja, without the browser's checks of required fields, after the
// form's own button (Enter in a field presses that one), and no links.
func checkLangButtons(t *testing.T, doc *html.Node, form, lang string) {
	t.Helper()
	f := byID(doc, form)
	if f == nil || !htmltest.IsTag(f, "form") || htmltest.Attr(f, "method") != "post" {
		t.Fatalf("no post form #%s", form)
	}
	if links := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") && htmltest.HasAttr(n, "hreflang") }); len(links) != 0 {
		t.Errorf("a step's page has language links %v", attrs(links, "href"))
	}
	type button struct{ Value, Form, Current string }
	var got []button
	buttons := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "button") && htmltest.Attr(n, "name") == "lang" })
	for _, b := range buttons {
		if !isSubmit(b) || !htmltest.HasAttr(b, "formnovalidate") {
			t.Errorf("language button %q: want a submit button with formnovalidate", htmltest.Attr(b, "value"))
		}
		got = append(got, button{htmltest.Attr(b, "value"), htmltest.Attr(b, "form"), htmltest.Attr(b, "aria-current")})
	}
	want := []button{{"en", form, ""}, {"ja", form, ""}}
	for i := range want {
		if want[i].Value == lang {
			want[i].Current = "true"
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("language buttons (-want +got):\n%s", diff)
	}
	own := htmltest.Find(f, isSubmit)
	if len(own) != 1 || len(buttons) == 0 {
		return
	}
	order := htmltest.Find(doc, func(n *html.Node) bool { return n == own[0] || n == buttons[0] })
	if len(order) != 2 || order[0] != own[0] {
		t.Errorf("the language buttons come before the form's own button: Enter would switch the language")
	}
}

// TestStepKeepsTypedCode: after a language switch, a code step shows the
// code typed again, and never a password.
func TestStepKeepsTypedCode(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		t.Run(l.code, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := r.RenderOTP(w, http.StatusOK, OTPPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Ticket: "tk",
				MaskedEmail: "a***@example.com", ValidMinutes: 5, Code: `12"3`}); err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			f := checkForm(t, doc, "/login/otp", []field{
				{"hidden", "id", "", "req-1", ""}, {"hidden", "ticket", "", "tk", ""},
				{"text", "code", "code", `12"3`, "one-time-code"},
			}, i18n.T(l.tag, "otp.submit"))
			if htmltest.Attr(f, "id") != "otp-form" {
				t.Errorf("code form id = %q, want otp-form", htmltest.Attr(f, "id"))
			}

			w = httptest.NewRecorder()
			if err := r.RenderReset(w, http.StatusOK, ResetPage{Base: Base{Lang: l.tag}, AuthRequestID: "req-1", Ticket: "tk",
				ValidMinutes: 15, Code: "123456", Rules: testRules}); err != nil {
				t.Fatal(err)
			}
			doc = parseHTML(t, w.Body.String())
			for _, in := range formFields(checkFormOnce(t, doc, "/reset/verify")) {
				switch {
				case in.Name == "code" && in.Value != "123456":
					t.Errorf("reset code = %q, want the typed 123456", in.Value)
				case in.Type == "password" && in.Value != "":
					t.Errorf("password field %s shows %q", in.Name, in.Value)
				}
			}
		})
	}
}

// TestHome: the landing page names the product (branding.name, in the
// page's language) and leads to the account page, and to the demo
// application only when there is one.
func TestHome(t *testing.T) {
	r, err := New(WithBrand(Brand{Name: i18n.Text{JA: "関所運輸 ID", EN: "Acme ID"}}))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{"ja": "関所運輸 ID", "en": "Acme ID"}
	for _, l := range langs {
		for _, demo := range []string{"", "/demo/"} {
			t.Run(l.code+demo, func(t *testing.T) {
				w := httptest.NewRecorder()
				if err := r.RenderHome(w, HomePage{Base: Base{Lang: l.tag}, DemoURL: demo}); err != nil {
					t.Fatal(err)
				}
				doc := parseHTML(t, w.Body.String())
				checkText(t, doc, "home-account", i18n.T(l.tag, "home.account"))
				if a := byID(doc, "home-account"); a == nil || htmltest.Attr(a, "href") != "/account" {
					t.Errorf("account link does not lead to /account")
				}
				if got := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]); got != names[l.code] {
					t.Errorf("h1 = %q, want the product name", got)
				}
				wantDemo := ""
				if demo != "" {
					wantDemo = i18n.T(l.tag, "home.demo")
				}
				checkText(t, doc, "home-demo", wantDemo)
				if a := byID(doc, "home-demo"); a != nil && htmltest.Attr(a, "href") != demo {
					t.Errorf("demo link = %q, want %q", htmltest.Attr(a, "href"), demo)
				}
			})
		}
	}
}

// TestErrorRestart: an expired sign-in says why and offers the
// application's sign-in start by name; an unknown one leads to the start
// page.
func TestErrorRestart(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		lang                   language.Tag
		page                   ErrorPage
		h1, text, href, button string
	}{
		{language.Japanese, ErrorPage{Base: Base{Title: "error.expired.title"}, Message: "error.expired", BackURL: "https://app.example.com/login?iss=x",
			BackLabel: "error.restart_at", ClientName: "ポータル"},
			"ログインの有効期限が切れました", "ログインに時間がかかったため、この画面は使えなくなりました。お手数ですが、アプリケーションからもう一度ログインしてください。",
			"https://app.example.com/login?iss=x", "「ポータル」にもう一度ログインする"},
		{language.English, ErrorPage{Base: Base{Title: "error.expired.title"}, Message: "error.expired", BackURL: "https://app.example.com/",
			BackLabel: "error.restart"},
			"This sign-in has expired", "The sign-in took too long, so this page can no longer be used. Please start signing in again from the application.",
			"https://app.example.com/", "Sign in again"},
		{language.Japanese, ErrorPage{Base: Base{Title: "error.unknown_request.title"}, Message: "error.unknown_request", BackURL: "/", BackLabel: "error.home"},
			"このログイン画面は使用できません", i18n.T(language.Japanese, "error.unknown_request"), "/", "トップページへ"},
		{language.English, ErrorPage{Base: Base{Title: "error.unknown_request.title"}, Message: "error.unknown_request", BackURL: "/", BackLabel: "error.home"},
			"This sign-in page can no longer be used", i18n.T(language.English, "error.unknown_request"), "/", "Go to the start page"},
	} {
		t.Run(tc.h1, func(t *testing.T) {
			tc.page.Lang = tc.lang
			w := httptest.NewRecorder()
			if err := r.RenderError(w, http.StatusGone, tc.page); err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			if got := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]); got != tc.h1 {
				t.Errorf("h1 = %q, want %q", got, tc.h1)
			}
			main := htmltest.Find(doc, tagIs("main"))[0]
			if ps := texts(htmltest.Find(main, tagIs("p"))); len(ps) == 0 || ps[0] != tc.text {
				t.Errorf("explanation = %q, want %q", ps, tc.text)
			}
			checkText(t, doc, "error-back", tc.button)
			if a := byID(doc, "error-back"); a == nil || htmltest.Attr(a, "href") != tc.href {
				t.Errorf("button does not lead to %s", tc.href)
			}
		})
	}
}

// TestLogoutConfirmNames: the sign-out confirmation names the account
// and the applications it signs out of, and cancels back to the
// application.
func TestLogoutConfirmNames(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		lang    language.Tag
		page    LogoutConfirmPage
		account []string
		apps    []string
		lead    string
		cancel  string
	}{
		{language.Japanese, LogoutConfirmPage{Account: "desk", OrganizationLabel: "施設コード", Organization: "H-1",
			Applications: []string{"ポータル", "予約管理"}, CancelURL: "https://app.example.com/bye?state=s"},
			[]string{"施設コード", "H-1", "アカウント", "desk"}, []string{"ポータル", "予約管理"},
			"次のアプリケーションからログアウトします。", "https://app.example.com/bye?state=s"},
		{language.English, LogoutConfirmPage{Account: "a@example.com", Applications: []string{"Portal"}, CancelURL: "/account"},
			[]string{"Account", "a@example.com"}, []string{"Portal"}, "You will be signed out of these applications:", "/account"},
		{language.English, LogoutConfirmPage{}, nil, nil, i18n.T(language.English, "logout.explanation"), ""},
	} {
		t.Run(i18n.Code(tc.lang)+tc.page.Account, func(t *testing.T) {
			tc.page.Lang = tc.lang
			w := httptest.NewRecorder()
			if err := r.RenderLogoutConfirm(w, tc.page); err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			var account []string
			if n := byID(doc, "logout-account"); n != nil {
				account = texts(htmltest.Find(n, func(n *html.Node) bool { return htmltest.IsTag(n, "dt") || htmltest.IsTag(n, "dd") }))
			}
			if diff := cmp.Diff(tc.account, account); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.apps, listItems(doc, "logout-applications")); diff != "" {
				t.Errorf("applications (-want +got):\n%s", diff)
			}
			main := htmltest.Find(doc, tagIs("main"))[0]
			if ps := texts(htmltest.Find(main, tagIs("p"))); len(ps) == 0 || ps[0] != tc.lead {
				t.Errorf("lead = %q, want %q", ps, tc.lead)
			}
			cancel := byID(doc, "logout-cancel")
			switch {
			case tc.cancel == "" && cancel != nil:
				t.Errorf("cancel shown without a URL")
			case tc.cancel != "" && (cancel == nil || htmltest.Attr(cancel, "href") != tc.cancel):
				t.Errorf("cancel does not lead to %s", tc.cancel)
			}
		})
	}
}

// TestLegacyFirstSignIn: the legacy first sign-in has one primary action,
// sending the code, no password field, and names the migration deadline
// in the page's language with its time zone.
func TestLegacyFirstSignIn(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		lang     language.Tag
		deadline string
	}{
		{language.Japanese, "Oldの移行期間は2025年3月4日 05:06（日本時間）までです。"},
		{language.English, "The migration period for Old ends on 2025-03-04 05:06 (JST)."},
		{language.Japanese, ""},
	} {
		t.Run(i18n.Code(tc.lang)+tc.deadline, func(t *testing.T) {
			p := LoginPage{Base: Base{Lang: tc.lang}, AuthRequestID: "req-1", Account: AccountFields{Email: "a@example.com"},
				LegacyReset: true, LegacyName: "Old", OtherAccountURL: "/login?id=req-1"}
			if tc.deadline != "" {
				p.LegacyDeadline = testSignIns[0].Time
			}
			w := httptest.NewRecorder()
			if err := r.RenderLogin(w, http.StatusOK, p); err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			primary := htmltest.Find(doc, func(n *html.Node) bool {
				return n.Type == html.ElementNode && strings.Contains(" "+htmltest.Attr(n, "class")+" ", " primary ")
			})
			if got := texts(primary); !cmp.Equal(got, []string{i18n.T(tc.lang, "legacy.send_code")}) {
				t.Errorf("primary actions = %q, want only sending the code", got)
			}
			checkFormOnce(t, doc, "/reset")
			if pw := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "input") && htmltest.Attr(n, "type") == "password" }); len(pw) != 0 {
				t.Errorf("the first sign-in asks for a password again")
			}
			checkText(t, doc, "legacy-deadline", tc.deadline)
			checkText(t, doc, "legacy-other-account", i18n.T(tc.lang, "legacy.other_account"))
		})
	}
}
