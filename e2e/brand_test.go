package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// brandTexts are what a branded page shows, per language.
var brandTexts = map[string]struct{ title, name, client, support string }{
	"ja": {"ログイン｜関所運輸", "関所運輸", "「配送予約」を利用するには、ログインしてください。", "お問い合わせ：0120-000-000（平日9時〜18時）"},
	"en": {"Sign in | Sekisho Logistics", "Sekisho Logistics", "Delivery booking", "Questions? Call 0120-000-000 (weekdays 9:00-18:00)"},
}

// branded configures a deployment's branding, and names the web client in
// each language.
func branded(c *config.Config) {
	c.Branding = config.Branding{
		Name:   config.Labels{JA: "関所運輸", EN: "Sekisho Logistics"},
		Logo:   "testdata/brand-logo.svg",
		Colors: config.BrandColors{Primary: "#0b5d4b", PrimaryText: "#ffffff", Background: "#eef3f1"},
		Support: config.Labels{JA: "お問い合わせ：0120-000-000（平日9時〜18時）",
			EN: "Questions? Call 0120-000-000 (weekdays 9:00-18:00)"},
	}
	c.Clients[0].Name = config.Labels{JA: "配送予約", EN: "Delivery booking"}
}

// TestBranding: the sign-in page of a branded deployment names the
// product in the tab title and the header, shows the logo and links the
// colours' stylesheet, all served from our own origin under the page's
// Content-Security-Policy, and names the client in the page's language;
// error pages add the support line.
func TestBranding(t *testing.T) {
	e := newEnv(t, gormstoretest.NewSQLite(t), branded)
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			want := brandTexts[lang]
			b := e.browser()
			a := newAuthz("web", webCB, "openid")
			a.extra.Set("ui_locales", lang)
			p := b.get(a.url(e.cfg.Issuer))
			if !p.hasLoginForm() {
				t.Fatalf("no sign-in form: %d %s", p.status, p.url)
			}
			if got := tagText(p.doc, "title"); got != want.title {
				t.Errorf("title %q, want %q", got, want.title)
			}
			if got := htmltest.Text(byClass(t, p.doc, "brand-name")); got != want.name {
				t.Errorf("header names %q, want %q", got, want.name)
			}
			if !strings.Contains(htmltest.Text(p.doc), want.client) {
				t.Errorf("the page does not name the client as %q", want.client)
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || !strings.Contains(csp, "img-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}

			logo := htmltest.Attr(byClass(t, p.doc, "brand-logo"), "src")
			var css string
			for _, l := range htmltest.Find(p.doc, func(n *html.Node) bool { return htmltest.IsTag(n, "link") && htmltest.Attr(n, "rel") == "stylesheet" }) {
				css = htmltest.Attr(l, "href")
			}
			for _, tc := range []struct{ path, contentType, body string }{
				{logo, "image/svg+xml", "<svg"},
				{css, "text/css; charset=utf-8", "--accent: #0b5d4b;"},
			} {
				u, err := url.Parse(tc.path)
				if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/static/") {
					t.Fatalf("asset %q is not on our origin", tc.path)
				}
				r := b.get(e.cfg.Issuer + tc.path)
				if r.status != http.StatusOK || r.header.Get("Content-Type") != tc.contentType ||
					!strings.Contains(r.header.Get("Cache-Control"), "immutable") || !strings.Contains(r.body, tc.body) {
					t.Errorf("GET %s: %d %q %q", tc.path, r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
				}
			}
			if r := b.get(e.cfg.Issuer + "/static/logo-000000000000.svg"); r.status != http.StatusNotFound {
				t.Errorf("a logo of another hash: %d, want 404", r.status)
			}

			p = b.get(e.cfg.Issuer + "/no-such-page?lang=" + lang)
			if got := htmltest.Text(byClass(t, p.doc, "support")); p.status != http.StatusNotFound || got != want.support {
				t.Errorf("error page: %d, support line %q, want %q", p.status, got, want.support)
			}
		})
	}
}

// tagText is the text of the first element named tag.
func tagText(doc *html.Node, tag string) string {
	if n := htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, tag) }); len(n) > 0 {
		return htmltest.Text(n[0])
	}
	return ""
}

// byClass is the one element with the class, or ends the test.
func byClass(t *testing.T, doc *html.Node, class string) *html.Node {
	t.Helper()
	n := htmltest.Find(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && strings.Contains(" "+htmltest.Attr(n, "class")+" ", " "+class+" ")
	})
	if len(n) != 1 {
		t.Fatalf("%d elements of class %q, want 1", len(n), class)
	}
	return n[0]
}
