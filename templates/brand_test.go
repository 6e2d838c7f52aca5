package templates

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/i18n"
)

// testBrand is a deployment's branding with every part set.
func testBrand(t *testing.T) Brand {
	t.Helper()
	var logo bytes.Buffer
	if err := png.Encode(&logo, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	primary := brand.Color{R: 0x0b, G: 0x5d, B: 0x4b}
	return Brand{
		Name:       i18n.Text{JA: "関所運輸", EN: "Sekisho Logistics"},
		Support:    i18n.Text{JA: "お問い合わせ：0120-000-000", EN: "Questions? Call 0120-000-000"},
		Logo:       logo.Bytes(),
		LogoType:   brand.TypePNG,
		Stylesheet: brand.Colors{Primary: &primary}.Stylesheet(),
	}
}

func newBrandedRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := New(WithBrand(testBrand(t)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// brandParts is what a page shows of the brand.
type brandParts struct {
	title, name, logo string
	stylesheets       []string
	support           string
}

func pageBrand(t *testing.T, doc *html.Node) brandParts {
	t.Helper()
	var p brandParts
	if n := htmltest.Find(doc, tagIs("title")); len(n) == 1 {
		p.title = htmltest.Text(n[0])
	}
	if n := htmltest.Find(doc, classIs("brand-name")); len(n) == 1 {
		p.name = htmltest.Text(n[0])
	}
	if n := htmltest.Find(doc, classIs("brand-logo")); len(n) == 1 {
		p.logo = htmltest.Attr(n[0], "src")
		if !htmltest.HasAttr(n[0], "alt") {
			t.Errorf("the logo has no alt attribute")
		}
	}
	for _, l := range htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "link") && htmltest.Attr(n, "rel") == "stylesheet" }) {
		p.stylesheets = append(p.stylesheets, strings.SplitN(htmltest.Attr(l, "href"), "?", 2)[0])
	}
	if n := htmltest.Find(doc, classIs("support")); len(n) == 1 {
		p.support = htmltest.Text(n[0])
	}
	return p
}

func classIs(class string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		return n.Type == html.ElementNode && strings.Contains(" "+htmltest.Attr(n, "class")+" ", " "+class+" ")
	}
}

// TestBrandedPages: every page shows the deployment's name in the tab
// title and the header, its logo and its colours' stylesheet, in the
// page's language; error pages add the support line.
func TestBrandedPages(t *testing.T) {
	r := newBrandedRenderer(t)
	logoURL, cssURL := r.logoURL, r.brandCSSURL
	if !strings.HasPrefix(logoURL, "/static/logo-") || !strings.HasSuffix(logoURL, ".png") ||
		!strings.HasPrefix(cssURL, "/static/brand-") || !strings.HasSuffix(cssURL, ".css") {
		t.Fatalf("asset URLs %q, %q", logoURL, cssURL)
	}
	for _, tc := range []struct {
		lang               string
		login, error, name string
		support            string
	}{
		{"ja", "ログイン｜関所運輸", "エラーが発生しました｜関所運輸", "関所運輸", "お問い合わせ：0120-000-000"},
		{"en", "Sign in | Sekisho Logistics", "Something went wrong | Sekisho Logistics", "Sekisho Logistics", "Questions? Call 0120-000-000"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			b := Base{Lang: i18n.TagOf(tc.lang)}
			w := httptest.NewRecorder()
			if err := r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1"}); err != nil {
				t.Fatal(err)
			}
			got := pageBrand(t, parseHTML(t, w.Body.String()))
			want := brandParts{title: tc.login, name: tc.name, logo: logoURL, stylesheets: []string{"/static/style.css", cssURL}}
			if got.title != want.title || got.name != want.name || got.logo != want.logo || strings.Join(got.stylesheets, " ") != strings.Join(want.stylesheets, " ") || got.support != "" {
				t.Errorf("sign-in page shows %+v, want %+v", got, want)
			}

			w = httptest.NewRecorder()
			if err := r.RenderError(w, http.StatusNotFound, ErrorPage{Base: b, Message: "error.not_found"}); err != nil {
				t.Fatal(err)
			}
			got = pageBrand(t, parseHTML(t, w.Body.String()))
			if got.title != tc.error || got.name != tc.name || got.support != tc.support {
				t.Errorf("error page shows %+v, want title %q, name %q, support %q", got, tc.error, tc.name, tc.support)
			}
		})
	}
}

// TestUnbrandedPages: without branding, the header names sekisho and the
// page links the one stylesheet; no logo, no support line.
func TestUnbrandedPages(t *testing.T) {
	r := newRenderer(t)
	w := httptest.NewRecorder()
	if err := r.RenderError(w, http.StatusNotFound, ErrorPage{Base: Base{Lang: i18n.TagOf("ja")}, Message: "error.not_found"}); err != nil {
		t.Fatal(err)
	}
	got := pageBrand(t, parseHTML(t, w.Body.String()))
	if got.title != "エラーが発生しました｜sekisho" || got.name != "sekisho" || got.logo != "" || len(got.stylesheets) != 1 || got.support != "" {
		t.Errorf("page shows %+v", got)
	}
}

// TestBrandOverride: a page tied to an organization shows its name and
// logo; the deployment's colours stay.
func TestBrandOverride(t *testing.T) {
	r := newBrandedRenderer(t)
	w := httptest.NewRecorder()
	b := Base{Lang: i18n.TagOf("ja"), Brand: BrandOverride{Name: "さくら病院", LogoURL: "/brand/org/o1/logo-abc.png"}}
	if err := r.RenderLogin(w, http.StatusOK, LoginPage{Base: b, AuthRequestID: "req-1"}); err != nil {
		t.Fatal(err)
	}
	got := pageBrand(t, parseHTML(t, w.Body.String()))
	if got.title != "ログイン｜さくら病院" || got.name != "さくら病院" || got.logo != "/brand/org/o1/logo-abc.png" || len(got.stylesheets) != 2 {
		t.Errorf("page shows %+v", got)
	}
}

// TestBrandAssets: the logo and the colours' stylesheet are served from
// our origin at their hashed names, cached for good; another hash is 404.
func TestBrandAssets(t *testing.T) {
	r := newBrandedRenderer(t)
	svgLogo := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>`)
	svg, err := New(WithBrand(Brand{Logo: svgLogo, LogoType: brand.TypeSVG}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		r           *Renderer
		path        string
		status      int
		contentType string
		body        string
	}{
		{"logo", r, r.logoURL, http.StatusOK, "image/png", string(testBrand(t).Logo)},
		{"stylesheet", r, r.brandCSSURL, http.StatusOK, "text/css; charset=utf-8", "--accent: #0b5d4b;"},
		{"svg logo", svg, svg.logoURL, http.StatusOK, "image/svg+xml", string(svgLogo)},
		{"logo of another hash", r, "/static/logo-000000000000.png", http.StatusNotFound, "", ""},
		{"stylesheet of another hash", r, "/static/brand-000000000000.css", http.StatusNotFound, "", ""},
		{"no stylesheet without colours", svg, r.brandCSSURL, http.StatusNotFound, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tc.r.StaticHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
			res := w.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("GET %s: status %d, want %d", tc.path, res.StatusCode, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, tc.contentType)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("body %q lacks %q", body, tc.body)
			}
			if csp := res.Header.Get("Content-Security-Policy"); tc.contentType == brand.TypeSVG && !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("svg Content-Security-Policy = %q", csp)
			}
		})
	}
}

// TestBrandedMail: mails carry the name, the logo and the support line.
func TestBrandedMail(t *testing.T) {
	base := MailBase{ProductName: "関所運輸", LogoURL: "https://login.example.com/static/logo-0123456789ab.png",
		Support: "お問い合わせ：0120-000-000"}
	subject, text, body, err := RenderMail("ja", MailResetCode, ResetCodeMail{MailBase: base, Code: "123456", ValidMinutes: 15})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(subject, "関所運輸") {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"関所運輸", "お問い合わせ：0120-000-000"} {
		if !strings.Contains(text, want) || !strings.Contains(body, want) {
			t.Errorf("mail lacks %q:\n%s\n%s", want, text, body)
		}
	}
	imgs := htmltest.Find(parseHTML(t, body), tagIs("img"))
	if len(imgs) != 1 || htmltest.Attr(imgs[0], "src") != base.LogoURL {
		t.Errorf("html mail images %v, want the logo", attrs(imgs, "src"))
	}
	_, _, body, err = RenderMail("ja", MailResetCode, ResetCodeMail{MailBase: MailBase{ProductName: "関所運輸"}, Code: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	if n := htmltest.Find(parseHTML(t, body), tagIs("img")); len(n) != 0 {
		t.Errorf("html mail without a logo has %d images", len(n))
	}
}
