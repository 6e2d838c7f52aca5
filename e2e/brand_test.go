package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
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
			if home := b.get(e.cfg.Issuer + "/?lang=" + lang); home.status != http.StatusOK || heading(home) != want.name {
				t.Errorf("landing page: %d, h1 %q, want %q", home.status, heading(home), want.name)
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

// TestOrganizationBrand: an organization's own name and logo replace the
// deployment's on the sign-in form of a request that names it, on its
// members' account page and in its console; the logo is served from the database at its
// hashed path, and any other hash answers 404.
func TestOrganizationBrand(t *testing.T) {
	e := newEnv(t, gormstoretest.NewSQLite(t), branded, withMode(config.IdentifierOrgEmail), withRoles)
	ctx := t.Context()
	org := e.addOrg(t, "SAKURA", "Sakura Hospital Group")
	logo := []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4" fill="#c2185b"/></svg>`)
	hash := brand.Hash(logo)
	if err := e.store.SetOrganizationLogo(ctx, org.ID, logo, brand.TypeSVG, hash, storage.AuditEvent{Time: time.Now(),
		Type: "organization_changed", OrganizationID: org.ID, Outcome: "success"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateOrganization(ctx, org.ID, func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		o.BrandNameJA, o.BrandNameEN = "さくら病院", "Sakura Hospital"
		return o, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	member := e.addMember(t, org, "nurse@example.com", "", deskPass, "owner", true)
	logoPath := "/static/org/" + org.ID + "/logo-" + hash + ".svg"

	b := e.browser()
	a := newAuthz("web", webCB, "openid")
	a.extra.Set("ui_locales", "ja")
	a.extra.Set("organization", "SAKURA")
	p := b.get(a.url(e.cfg.Issuer))
	if got := tagText(p.doc, "title"); got != "ログイン｜さくら病院" {
		t.Errorf("title %q", got)
	}
	if got := htmltest.Attr(byClass(t, p.doc, "brand-logo"), "src"); got != logoPath {
		t.Errorf("logo %q, want %q", got, logoPath)
	}
	if r := b.get(e.cfg.Issuer + logoPath); r.status != http.StatusOK || r.header.Get("Content-Type") != brand.TypeSVG ||
		r.body != string(logo) || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s: %d %q %q", logoPath, r.status, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
	}
	for _, other := range []string{"/static/org/" + org.ID + "/logo-000000000000.svg", "/static/org/" + uuid.NewString() + "/logo-" + hash + ".svg"} {
		if r := b.get(e.cfg.Issuer + other); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", other, r.status)
		}
	}

	// A request that names no organization shows the deployment's brand.
	plain := b.get(newAuthz("web", webCB, "openid").url(e.cfg.Issuer) + "&ui_locales=ja")
	if got := htmltest.Text(byClass(t, plain.doc, "brand-name")); got != "関所運輸" {
		t.Errorf("without an organization the header names %q", got)
	}

	vals, _ := formInputs(t, p.doc, "/login")
	res := b.post(e.cfg.Issuer+"/login", url.Values{"id": {vals["id"]}, "organization": {"SAKURA"}, "email": {member.Email},
		"password": {deskPass}}, e.cfg.Issuer)
	e.code(t, res, a)
	acct := b.get(e.cfg.Issuer + "/account?lang=en")
	if got := htmltest.Text(byClass(t, acct.doc, "brand-name")); acct.status != http.StatusOK || got != "Sakura Hospital" {
		t.Errorf("account page: %d, header names %q, want Sakura Hospital", acct.status, got)
	}
	console := b.get(e.cfg.Issuer + "/admin/members?lang=ja")
	if got := htmltest.Text(byClass(t, console.doc, "brand-name")); console.status != http.StatusOK || got != "さくら病院" {
		t.Errorf("console: %d, header names %q, want さくら病院", console.status, got)
	}
}
