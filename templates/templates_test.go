package templates

import (
	"github.com/sekisho/sekisho/htmltest"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/i18n"
)

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return r
}

var langs = []struct {
	code string
	tag  language.Tag
}{
	{"en", language.English},
	{"ja", language.Japanese},
}

// pageCase renders one page in the given language.
type pageCase struct {
	name   string
	status int
	render func(r *Renderer, w http.ResponseWriter, b Base) error
}

var pageCases = []pageCase{
	{"login", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1", ClientName: "Portal"})
	}},
	{"login error", http.StatusUnauthorized, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogin(w, http.StatusUnauthorized, LoginPage{Base: b, AuthRequestID: "req-1", Email: "a@example.com", Error: "login.error.invalid", ForgotURL: "/forgot"})
	}},
	{"error", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderError(w, http.StatusBadRequest, ErrorPage{Base: b, Message: "error.unknown_client"})
	}},
	{"error expired", http.StatusBadRequest, func(r *Renderer, w http.ResponseWriter, b Base) error {
		b.Title = "error.expired.title"
		return r.RenderError(w, http.StatusBadRequest, ErrorPage{Base: b, Message: "error.expired", BackURL: "https://app.example.com/"})
	}},
	{"error default", http.StatusInternalServerError, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderError(w, http.StatusInternalServerError, ErrorPage{Base: b})
	}},
	{"logout confirm", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderLogoutConfirm(w, LogoutConfirmPage{Base: b, Hidden: []HiddenField{{"state", "s"}}, CancelURL: "https://app.example.com/"})
	}},
	{"signed out", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderSignedOut(w, SignedOutPage{Base: b})
	}},
	{"signed out back", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderSignedOut(w, SignedOutPage{Base: b, BackURL: "https://app.example.com/", ClientName: "Portal"})
	}},
	{"demo signed out", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderDemo(w, DemoPage{Base: b})
	}},
	{"demo signed in", http.StatusOK, func(r *Renderer, w http.ResponseWriter, b Base) error {
		return r.RenderDemo(w, DemoPage{Base: b, SignedIn: true, Claims: []Claim{{"sub", "u1"}, {"email", "a@example.com"}}, RawJSON: `{"sub":"u1"}`, Error: "refresh failed"})
	}},
}

// TestPagesCommon renders every page in both languages and checks what every
// page must have.
func TestPagesCommon(t *testing.T) {
	r := newRenderer(t)
	current, _ := url.Parse("http://localhost:8080/authorize/callback?id=req-1&lang=en&x=a%26b")
	for _, pc := range pageCases {
		for _, l := range langs {
			t.Run(pc.name+"/"+l.code, func(t *testing.T) {
				w := httptest.NewRecorder()
				if err := pc.render(r, w, Base{Lang: l.tag, CurrentURL: current}); err != nil {
					t.Fatalf("render: %v", err)
				}
				res := w.Result()
				if res.StatusCode != pc.status {
					t.Errorf("status = %d, want %d", res.StatusCode, pc.status)
				}
				for header, want := range map[string]string{
					"Content-Type":     "text/html; charset=utf-8",
					"Content-Language": l.code,
					"Cache-Control":    "no-store",
				} {
					if got := res.Header.Get(header); got != want {
						t.Errorf("%s = %q, want %q", header, got, want)
					}
				}
				doc := parseHTML(t, w.Body.String())
				checkCommon(t, doc, l.code)
				checkLangSwitch(t, doc, map[string]string{
					"en": "/authorize/callback?id=req-1&lang=en&x=a%26b",
					"ja": "/authorize/callback?id=req-1&lang=ja&x=a%26b",
				})
			})
		}
	}
}

// checkCommon checks the page frame, CSP-compatibility, labels, one submit
// button per form and that no message key leaked into the text.
func checkCommon(t *testing.T, doc *html.Node, lang string) {
	t.Helper()
	htmlEl := htmltest.Find(doc, tagIs("html"))
	if len(htmlEl) != 1 || htmltest.Attr(htmlEl[0], "lang") != lang {
		t.Errorf("<html lang> = %v, want %q", attrs(htmlEl, "lang"), lang)
	}
	if n := htmltest.Find(doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "meta") && htmltest.Attr(n, "name") == "viewport" && strings.Contains(htmltest.Attr(n, "content"), "width=device-width")
	}); len(n) != 1 {
		t.Errorf("viewport meta: found %d, want 1", len(n))
	}
	links := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "link") && htmltest.Attr(n, "rel") == "stylesheet" })
	if len(links) != 1 {
		t.Fatalf("stylesheet links: found %d, want 1", len(links))
	}
	if u, err := url.Parse(htmltest.Attr(links[0], "href")); err != nil || u.Path != "/static/style.css" || u.Host != "" {
		t.Errorf("stylesheet href = %q, want /static/style.css", htmltest.Attr(links[0], "href"))
	}
	if titles := htmltest.Find(doc, tagIs("title")); len(titles) != 1 || htmltest.Text(titles[0]) == "" {
		t.Errorf("want one non-empty <title>")
	}
	if h1 := htmltest.Find(doc, tagIs("h1")); len(h1) != 1 {
		t.Errorf("<h1>: found %d, want 1", len(h1))
	}
	// CSP: no scripts, no inline styles, no event handlers.
	for _, n := range htmltest.Find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		if n.Data == "script" || n.Data == "style" {
			t.Errorf("found <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
	}
	// Unique ids.
	ids := map[string]bool{}
	for _, n := range htmltest.Find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && htmltest.HasAttr(n, "id") }) {
		id := htmltest.Attr(n, "id")
		if ids[id] {
			t.Errorf("duplicate id %q", id)
		}
		ids[id] = true
	}
	// Every visible input has a label.
	labels := map[string]bool{}
	for _, l := range htmltest.Find(doc, tagIs("label")) {
		if htmltest.Text(l) == "" {
			t.Errorf("empty label for %q", htmltest.Attr(l, "for"))
		}
		labels[htmltest.Attr(l, "for")] = true
	}
	for _, in := range htmltest.Find(doc, tagIs("input")) {
		switch htmltest.Attr(in, "type") {
		case "hidden", "submit":
			continue
		}
		if id := htmltest.Attr(in, "id"); id == "" || !labels[id] {
			t.Errorf("input name=%q id=%q has no <label for>", htmltest.Attr(in, "name"), id)
		}
	}
	// Every form has exactly one submit button.
	for _, f := range htmltest.Find(doc, tagIs("form")) {
		if n := len(htmltest.Find(f, isSubmit)); n != 1 {
			t.Errorf("form action=%q has %d submit buttons, want 1", htmltest.Attr(f, "action"), n)
		}
	}
	// No untranslated catalog key in the text.
	for _, s := range textNodes(doc) {
		if m := keyPattern.FindString(s); m != "" {
			t.Errorf("text %q contains the message key %q", s, m)
		}
	}
}

var keyPattern = regexp.MustCompile(`\b(lang|login|error|logout|signedout|demo)\.[a-z_]+(\.[a-z_]+)*\b`)

func checkLangSwitch(t *testing.T, doc *html.Node, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, a := range htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") && htmltest.HasAttr(n, "hreflang") }) {
		got[htmltest.Attr(a, "hreflang")] = htmltest.Attr(a, "href")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("language switch links (-want +got):\n%s", diff)
	}
}

func TestLangSwitchDefaults(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name string
		base Base
		want map[string]string
	}{
		{"nothing", Base{}, map[string]string{"en": "?lang=en", "ja": "?lang=ja"}},
		{"explicit", Base{LangSwitchEN: "/x?lang=en", LangSwitchJA: "/x?lang=ja", CurrentURL: &url.URL{Path: "/ignored"}},
			map[string]string{"en": "/x?lang=en", "ja": "/x?lang=ja"}},
		{"current", Base{CurrentURL: &url.URL{Path: "/login", RawQuery: "id=1"}},
			map[string]string{"en": "/login?id=1&lang=en", "ja": "/login?id=1&lang=ja"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := r.RenderSignedOut(w, SignedOutPage{Base: tc.base}); err != nil {
				t.Fatal(err)
			}
			checkLangSwitch(t, parseHTML(t, w.Body.String()), tc.want)
		})
	}
}

func TestLangSwitchURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		lang string
		want string
	}{
		{"", "ja", "?lang=ja"},
		{"/login", "en", "/login?lang=en"},
		{"/login?lang=ja", "en", "/login?lang=en"},
		{"/demo?b=2&a=1", "ja", "/demo?a=1&b=2&lang=ja"},
		{"https://evil.example/x?y=1", "en", "/x?lang=en&y=1"},
		{"//evil.example/x", "en", "/x?lang=en"},
		{"/a%2Fb?q=%3Cx%3E", "en", "/a%2Fb?lang=en&q=%3Cx%3E"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var u *url.URL
			if tc.in != "" {
				var err error
				if u, err = url.Parse(tc.in); err != nil {
					t.Fatal(err)
				}
			}
			if got := LangSwitchURL(u, tc.lang); got != tc.want {
				t.Errorf("LangSwitchURL(%q, %q) = %q, want %q", tc.in, tc.lang, got, tc.want)
			}
		})
	}
	// "//evil.example/x" parses as a host; a path of "//" must not either.
	if got := LangSwitchURL(&url.URL{Path: "//evil.example/x"}, "en"); got != "/evil.example/x?lang=en" {
		t.Errorf("LangSwitchURL(path //evil.example/x) = %q", got)
	}
}

func TestLogin(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		t.Run(l.code, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := r.RenderLogin(w, http.StatusOK, LoginPage{
				Base:          Base{Lang: l.tag},
				AuthRequestID: `req"<1>`,
				Email:         "user@example.com",
				ClientName:    "<b>x</b>",
			})
			if err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			forms := htmltest.Find(doc, tagIs("form"))
			if len(forms) != 1 {
				t.Fatalf("found %d forms, want 1", len(forms))
			}
			f := forms[0]
			if got := htmltest.Attr(f, "method"); got != "post" {
				t.Errorf("method = %q, want post", got)
			}
			if got := htmltest.Attr(f, "action"); got != "/login" {
				t.Errorf("action = %q, want /login", got)
			}
			if n := len(htmltest.Find(f, isSubmit)); n != 1 {
				t.Errorf("%d submit buttons, want 1", n)
			}
			type input struct{ Type, Name, Value, Autocomplete string }
			var got []input
			for _, in := range htmltest.Find(f, tagIs("input")) {
				got = append(got, input{htmltest.Attr(in, "type"), htmltest.Attr(in, "name"), htmltest.Attr(in, "value"), htmltest.Attr(in, "autocomplete")})
			}
			want := []input{
				{"hidden", "id", `req"<1>`, ""},
				{"email", "email", "user@example.com", "username"},
				{"password", "password", "", "current-password"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			// The client name is text, not markup.
			if b := htmltest.Find(doc, tagIs("b")); len(b) != 0 {
				t.Errorf("client name was rendered as markup: %d <b> elements", len(b))
			}
			wantLead := i18n.T(l.tag, "login.continue_to", "<b>x</b>")
			if !slices.Contains(textNodes(doc), wantLead) {
				t.Errorf("text %q not found in %q", wantLead, textNodes(doc))
			}
			if a := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "a") && !htmltest.HasAttr(n, "hreflang") }); len(a) != 0 {
				t.Errorf("forgot link shown without ForgotURL")
			}
			if alerts := htmltest.Find(doc, roleAlert); len(alerts) != 0 {
				t.Errorf("alert shown without Error")
			}
		})
	}
}

func TestLoginError(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		t.Run(l.code, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := r.RenderLogin(w, http.StatusUnauthorized, LoginPage{
				Base:          Base{Lang: l.tag},
				AuthRequestID: "req-1",
				Error:         "login.error.invalid",
				ForgotURL:     "/forgot?id=req-1",
			})
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", w.Code)
			}
			doc := parseHTML(t, w.Body.String())
			alerts := htmltest.Find(doc, roleAlert)
			if len(alerts) != 1 || htmltest.Text(alerts[0]) != i18n.T(l.tag, "login.error.invalid") {
				t.Errorf("alert = %v, want %q", texts(alerts), i18n.T(l.tag, "login.error.invalid"))
			}
			forgot := htmltest.Find(doc, func(n *html.Node) bool {
				return htmltest.IsTag(n, "a") && htmltest.Attr(n, "href") == "/forgot?id=req-1"
			})
			if len(forgot) != 1 || htmltest.Text(forgot[0]) != i18n.T(l.tag, "login.forgot") {
				t.Errorf("forgot link = %v", texts(forgot))
			}
		})
	}
}

func TestErrorPage(t *testing.T) {
	r := newRenderer(t)
	for _, l := range langs {
		t.Run(l.code, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := r.RenderError(w, http.StatusServiceUnavailable, ErrorPage{
				Base:    Base{Lang: l.tag, Title: "error.unavailable.title"},
				Message: "error.unavailable",
				BackURL: "https://app.example.com/start?a=1&b=2",
			})
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", w.Code)
			}
			doc := parseHTML(t, w.Body.String())
			if got, want := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]), i18n.T(l.tag, "error.unavailable.title"); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}
			if got, want := htmltest.Text(htmltest.Find(doc, tagIs("title"))[0]), i18n.T(l.tag, "error.unavailable.title"); got != want {
				t.Errorf("title = %q, want %q", got, want)
			}
			main := htmltest.Find(doc, tagIs("main"))[0]
			if ps := texts(htmltest.Find(main, tagIs("p"))); !slices.Contains(ps, i18n.T(l.tag, "error.unavailable")) {
				t.Errorf("paragraphs %q lack the message", ps)
			}
			back := htmltest.Find(main, tagIs("a"))
			if len(back) != 1 || htmltest.Attr(back[0], "href") != "https://app.example.com/start?a=1&b=2" || htmltest.Text(back[0]) != i18n.T(l.tag, "error.back_to_app") {
				t.Errorf("back link = %v %v", attrs(back, "href"), texts(back))
			}
		})
	}
}

func TestErrorPageDefaults(t *testing.T) {
	r := newRenderer(t)
	w := httptest.NewRecorder()
	if err := r.RenderError(w, http.StatusInternalServerError, ErrorPage{Base: Base{Lang: language.Japanese}}); err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, w.Body.String())
	if got, want := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]), i18n.T(language.Japanese, "error.title"); got != want {
		t.Errorf("h1 = %q, want %q", got, want)
	}
	main := htmltest.Find(doc, tagIs("main"))[0]
	if ps := texts(htmltest.Find(main, tagIs("p"))); !slices.Contains(ps, i18n.T(language.Japanese, "error.server")) {
		t.Errorf("paragraphs %q lack error.server", ps)
	}
	if a := htmltest.Find(main, tagIs("a")); len(a) != 0 {
		t.Errorf("back link shown without BackURL")
	}
}

func TestLogoutConfirm(t *testing.T) {
	r := newRenderer(t)
	w := httptest.NewRecorder()
	err := r.RenderLogoutConfirm(w, LogoutConfirmPage{
		Base: Base{Lang: language.Japanese},
		Hidden: []HiddenField{
			{"state", `"><x`},
			{"post_logout_redirect_uri", "https://app.example.com/bye"},
			{"client_id", "portal"},
			{"confirm", "no"},
			{"ui_locales", "ja en"},
		},
		CancelURL: "https://app.example.com/",
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, w.Body.String())
	forms := htmltest.Find(doc, tagIs("form"))
	if len(forms) != 1 {
		t.Fatalf("found %d forms, want 1", len(forms))
	}
	f := forms[0]
	if htmltest.Attr(f, "method") != "post" || htmltest.Attr(f, "action") != "/end_session" {
		t.Errorf("form method=%q action=%q, want post /end_session", htmltest.Attr(f, "method"), htmltest.Attr(f, "action"))
	}
	var got []HiddenField
	for _, in := range htmltest.Find(f, func(n *html.Node) bool { return htmltest.IsTag(n, "input") && htmltest.Attr(n, "type") == "hidden" }) {
		got = append(got, HiddenField{htmltest.Attr(in, "name"), htmltest.Attr(in, "value")})
	}
	want := []HiddenField{
		{"state", `"><x`},
		{"post_logout_redirect_uri", "https://app.example.com/bye"},
		{"client_id", "portal"},
		{"ui_locales", "ja en"},
		{"confirm", "yes"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hidden fields (-want +got):\n%s", diff)
	}
	if h1 := htmltest.Text(htmltest.Find(doc, tagIs("h1"))[0]); h1 != "ログアウトしますか？" {
		t.Errorf("h1 = %q", h1)
	}
	cancel := htmltest.Find(doc, func(n *html.Node) bool {
		return htmltest.IsTag(n, "a") && htmltest.Attr(n, "href") == "https://app.example.com/"
	})
	if len(cancel) != 1 || htmltest.Text(cancel[0]) != "キャンセル" {
		t.Errorf("cancel link = %v", texts(cancel))
	}
}

func TestSignedOut(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name     string
		page     SignedOutPage
		wantLink string
	}{
		{"no link", SignedOutPage{}, ""},
		{"client", SignedOutPage{BackURL: "https://app.example.com/", ClientName: "<i>Portal</i>"}, "Return to <i>Portal</i>"},
		{"no client name", SignedOutPage{BackURL: "https://app.example.com/"}, "Return to the application"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := r.RenderSignedOut(w, tc.page); err != nil {
				t.Fatal(err)
			}
			doc := parseHTML(t, w.Body.String())
			main := htmltest.Find(doc, tagIs("main"))[0]
			if ps := texts(htmltest.Find(main, tagIs("p"))); !slices.Contains(ps, "You have been signed out.") {
				t.Errorf("paragraphs %q", ps)
			}
			links := htmltest.Find(main, tagIs("a"))
			if tc.wantLink == "" {
				if len(links) != 0 {
					t.Errorf("unexpected links %v", texts(links))
				}
				return
			}
			if len(links) != 1 || htmltest.Text(links[0]) != tc.wantLink || htmltest.Attr(links[0], "href") != tc.page.BackURL {
				t.Errorf("links = %v %v, want %q", texts(links), attrs(links, "href"), tc.wantLink)
			}
			if len(htmltest.Find(main, tagIs("i"))) != 0 {
				t.Errorf("client name rendered as markup")
			}
		})
	}
}

func TestDemo(t *testing.T) {
	r := newRenderer(t)
	t.Run("signed out", func(t *testing.T) {
		w := httptest.NewRecorder()
		if err := r.RenderDemo(w, DemoPage{Base: Base{Lang: language.English}}); err != nil {
			t.Fatal(err)
		}
		doc := parseHTML(t, w.Body.String())
		forms := htmltest.Find(doc, tagIs("form"))
		if len(forms) != 1 || htmltest.Attr(forms[0], "action") != "/demo/login" || htmltest.Attr(forms[0], "method") != "get" {
			t.Fatalf("forms = %v, want one GET /demo/login", attrs(forms, "action"))
		}
		if got := texts(htmltest.Find(forms[0], isSubmit)); !cmp.Equal(got, []string{"Sign in"}) {
			t.Errorf("submit = %q", got)
		}
		if len(htmltest.Find(doc, tagIs("dl"))) != 0 || len(htmltest.Find(doc, tagIs("pre"))) != 0 {
			t.Errorf("claims shown while signed out")
		}
	})
	t.Run("signed in", func(t *testing.T) {
		w := httptest.NewRecorder()
		raw := "{\n  \"name\": \"<script>alert(1)</script>\"\n}"
		err := r.RenderDemo(w, DemoPage{
			Base:     Base{Lang: language.Japanese},
			SignedIn: true,
			Claims:   []Claim{{"sub", "u1"}, {"name", "<script>alert(1)</script>"}, {"amr", "pwd otp"}},
			RawJSON:  raw,
			Error:    "<b>token refresh failed</b>",
		})
		if err != nil {
			t.Fatal(err)
		}
		doc := parseHTML(t, w.Body.String())
		var got []Claim
		for _, dl := range htmltest.Find(doc, tagIs("dl")) {
			dts, dds := htmltest.Find(dl, tagIs("dt")), htmltest.Find(dl, tagIs("dd"))
			if len(dts) != len(dds) {
				t.Fatalf("%d dt, %d dd", len(dts), len(dds))
			}
			for i := range dts {
				got = append(got, Claim{htmltest.Text(dts[i]), htmltest.Text(dds[i])})
			}
		}
		want := []Claim{{"sub", "u1"}, {"name", "<script>alert(1)</script>"}, {"amr", "pwd otp"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("claims (-want +got):\n%s", diff)
		}
		if pre := htmltest.Find(doc, tagIs("pre")); len(pre) != 1 || htmltest.Text(pre[0]) != raw {
			t.Errorf("pre = %q, want %q", texts(pre), raw)
		}
		if alerts := htmltest.Find(doc, roleAlert); len(alerts) != 1 || htmltest.Text(alerts[0]) != "<b>token refresh failed</b>" {
			t.Errorf("alert = %q", texts(alerts))
		}
		type form struct{ Method, Action, Button string }
		var forms []form
		for _, f := range htmltest.Find(doc, tagIs("form")) {
			forms = append(forms, form{htmltest.Attr(f, "method"), htmltest.Attr(f, "action"), strings.Join(texts(htmltest.Find(f, isSubmit)), "|")})
		}
		wantForms := []form{
			{"post", "/demo/refresh", "トークンを更新"},
			{"post", "/demo/logout", "ログアウト"},
		}
		if diff := cmp.Diff(wantForms, forms); diff != "" {
			t.Errorf("forms (-want +got):\n%s", diff)
		}
	})
}

// TestTemplateKeysExist checks that every literal key passed to t in the
// templates has a catalog entry.
func TestTemplateKeysExist(t *testing.T) {
	r := newRenderer(t)
	keys := map[string]bool{}
	for _, page := range requiredPages {
		for _, tmpl := range r.pages["en"][page].Templates() {
			if tmpl.Tree != nil {
				collectKeys(tmpl.Tree.Root, keys)
			}
		}
	}
	if len(keys) < 20 {
		t.Fatalf("found only %d keys; is the parse-tree walk broken?", len(keys))
	}
	for key := range keys {
		if !i18n.Has(key) {
			t.Errorf("template uses missing key %q", key)
		}
	}
}

func collectKeys(node parse.Node, keys map[string]bool) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectKeys(c, keys)
		}
	case *parse.ActionNode:
		collectKeys(n.Pipe, keys)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, cmd := range n.Cmds {
			if len(cmd.Args) >= 2 {
				if id, ok := cmd.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
					if s, ok := cmd.Args[1].(*parse.StringNode); ok {
						keys[s.Text] = true
					}
				}
			}
			for _, a := range cmd.Args {
				collectKeys(a, keys)
			}
		}
	case *parse.IfNode:
		collectKeys(n.Pipe, keys)
		collectKeys(n.List, keys)
		collectKeys(n.ElseList, keys)
	case *parse.RangeNode:
		collectKeys(n.Pipe, keys)
		collectKeys(n.List, keys)
		collectKeys(n.ElseList, keys)
	case *parse.WithNode:
		collectKeys(n.Pipe, keys)
		collectKeys(n.List, keys)
		collectKeys(n.ElseList, keys)
	case *parse.TemplateNode:
		collectKeys(n.Pipe, keys)
	}
}

// TestRenderFailureSendsNoHalfPage checks that a failing template produces
// a plain 500 and an error, and none of the partial output.
func TestRenderFailureSendsNoHalfPage(t *testing.T) {
	r := newRenderer(t)
	broken := template.Must(template.New("x").Parse(`{{define "layout"}}<p>partial output{{.Missing}}</p>{{end}}`))
	w := httptest.NewRecorder()
	err := r.execute(w, http.StatusOK, broken, "en", "broken", struct{}{})
	if err == nil {
		t.Fatal("execute succeeded, want an error")
	}
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
	if body := w.Body.String(); strings.Contains(body, "partial") || body != "Internal Server Error\n" {
		t.Errorf("body = %q", body)
	}

	w = httptest.NewRecorder()
	if err := r.RenderLogin(w, 42, LoginPage{}); err == nil || w.Code != http.StatusInternalServerError {
		t.Errorf("invalid status: err = %v, code = %d; want an error and 500", err, w.Code)
	}
}

func TestStaticHandler(t *testing.T) {
	r := newRenderer(t)
	srv := httptest.NewServer(http.StripPrefix("", r.StaticHandler()))
	defer srv.Close()

	// The stylesheet the pages link to.
	w := httptest.NewRecorder()
	if err := r.RenderSignedOut(w, SignedOutPage{}); err != nil {
		t.Fatal(err)
	}
	href := htmltest.Attr(htmltest.Find(parseHTML(t, w.Body.String()), tagIs("link"))[0], "href")

	for _, tc := range []struct {
		path       string
		wantStatus int
	}{
		{href, http.StatusOK},
		{"/static/style.css", http.StatusOK},
		{"/static/", http.StatusNotFound},
		{"/static/missing.css", http.StatusNotFound},
		{"/static/../templates.go", http.StatusNotFound},
		{"/static/%2e%2e/templates.go", http.StatusNotFound},
		{"/other/style.css", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, err := srv.Client().Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if tc.wantStatus != http.StatusOK {
				return
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
				t.Errorf("Content-Type = %q, want text/css", ct)
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control = %q, want a long max-age", cc)
			}
			if !strings.Contains(string(body), "font-family") {
				t.Errorf("body does not look like the stylesheet")
			}
		})
	}
}

// HTML helpers: assertions go by element and attribute, not by substring.

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func tagIs(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return htmltest.IsTag(n, tag) }
}

func isSubmit(n *html.Node) bool {
	switch {
	case htmltest.IsTag(n, "button"):
		typ := htmltest.Attr(n, "type")
		return typ == "" || typ == "submit"
	case htmltest.IsTag(n, "input"):
		typ := htmltest.Attr(n, "type")
		return typ == "submit" || typ == "image"
	}
	return false
}

func roleAlert(n *html.Node) bool {
	return n.Type == html.ElementNode && htmltest.Attr(n, "role") == "alert"
}

func attrs(nodes []*html.Node, key string) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, htmltest.Attr(n, key))
	}
	return out
}

func texts(nodes []*html.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, htmltest.Text(n))
	}
	return out
}

// textNodes returns the trimmed, non-empty text nodes of the document.
func textNodes(doc *html.Node) []string {
	var out []string
	for n := range doc.Descendants() {
		if n.Type == html.TextNode {
			if s := strings.TrimSpace(n.Data); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
