package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// TestBrowserBrand opens a branded deployment's sign-in page in chromium,
// in Japanese: the tab title and the header name the product, the logo
// loads and the colours apply under the page's Content-Security-Policy
// (style-src 'self', img-src 'self'). With SEKISHO_SCREENSHOTS set it
// saves the page at both widths (branded-signin-ja-*.png).
func TestBrowserBrand(t *testing.T) {
	browser := newChromium(t)
	e := newEnv(t, gormstoretest.NewSQLite(t), branded)
	want := brandTexts["ja"]
	kei := newPerson(t, browser, e.cfg.Issuer)
	a := newAuthz("web", webCB, "openid")
	a.extra.Set("ui_locales", "ja")
	kei.open(a.url(e.cfg.Issuer))

	type view struct {
		Title, Name, Lead, Button, Background string
		LogoWidth                             int
	}
	got, err := chromedp.Run(kei.ctx, chromedp.Evaluate[view](`({
		Title: document.title,
		Name: document.querySelector(".brand-name").innerText,
		Lead: document.querySelector("main").innerText,
		Button: getComputedStyle(document.querySelector("form[action='/login'] button[type=submit]")).backgroundColor,
		Background: getComputedStyle(document.body).backgroundColor,
		LogoWidth: document.querySelector(".brand-logo").naturalWidth,
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != want.title || got.Name != want.name {
		t.Errorf("title %q and header %q, want %q and %q", got.Title, got.Name, want.title, want.name)
	}
	if !strings.Contains(got.Lead, want.client) {
		t.Errorf("the page does not name the client as %q: %q", want.client, got.Lead)
	}
	if got.LogoWidth == 0 {
		t.Errorf("the logo did not load")
	}
	if got.Button != "rgb(11, 93, 75)" || got.Background != "rgb(238, 243, 241)" {
		t.Errorf("sign-in button %s on %s, want the brand's rgb(11, 93, 75) on rgb(238, 243, 241)", got.Button, got.Background)
	}
	kei.shootHere("branded-signin", "ja")
}
