package e2e

import (
	"net/http"
	"testing"

	"golang.org/x/net/html"

	"github.com/sekisho/sekisho/config"
	"github.com/sekisho/sekisho/htmltest"
	"github.com/sekisho/sekisho/storage"
)

// TestDefaultLanguage: ui.default_language is the sign-in page's language
// when the browser names no language we have (no header, or only others);
// a language we have still wins. Japanese unless configured.
func TestDefaultLanguage(t *testing.T) {
	backends(t, func(t *testing.T, newStore func(t *testing.T) storage.Storage) {
		for _, tc := range []struct {
			configured string // "": the key left out
			want       map[string]string
		}{
			{"", map[string]string{"": "ja", "fr-FR,de;q=0.5": "ja", "en-US": "en", "ja": "ja"}},
			{"en", map[string]string{"": "en", "fr-FR,de;q=0.5": "en", "en-US": "en", "ja": "ja"}},
		} {
			t.Run("default "+tc.configured, func(t *testing.T) {
				e := newEnv(t, newStore(t), func(c *config.Config) {
					c.UI.DefaultLanguage = tc.configured
					c.ApplyDefaults()
				})
				for accept, want := range tc.want {
					b := e.browser()
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, newAuthz("web", webCB, "openid").url(e.cfg.Issuer), nil)
					if accept != "" {
						req.Header.Set("Accept-Language", accept)
					}
					p := b.do(req)
					if !p.hasLoginForm() {
						t.Fatalf("Accept-Language %q: no sign-in page (status %d)", accept, p.status)
					}
					if got := pageLang(p.doc); got != want {
						t.Errorf("Accept-Language %q: page in %q, want %q", accept, got, want)
					}
				}
			})
		}
	})
}

// pageLang is the lang attribute of the page's html element.
func pageLang(doc *html.Node) string {
	for _, n := range htmltest.Find(doc, func(n *html.Node) bool { return htmltest.IsTag(n, "html") }) {
		return htmltest.Attr(n, "lang")
	}
	return ""
}
