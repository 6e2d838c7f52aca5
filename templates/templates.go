// Package templates renders sekisho's user-visible HTML pages (sign-in,
// errors, sign-out, the demo relying party) in English and Japanese, and
// serves their stylesheet.
//
// The pages are html/template files embedded from html/, parsed once per
// language by New. Every text comes from the i18n catalogs through the
// template function t, which is bound to the language of the parsed set, so a
// page renders in the language of its Base.Lang. Each page has one typed
// render method that renders into a buffer first: a template error never
// sends half a page.
//
// The pages contain no inline script or style, so they run under the CSP
//
//	default-src 'none'; style-src 'self'; img-src 'self' data:;
//	form-action 'self' <redirects>; frame-ancestors 'none'; base-uri 'none'
//
// which the caller sets. The pages with password fields or a resend
// countdown (scriptPages) load static/forms.js, which adds the
// show-password buttons and counts the cooldown down; their render appends
// "script-src 'self'" to that header, so no other page may run a script.
// Every such page works without the script.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/i18n"
	"github.com/sekisho/sekisho/localtime"
)

//go:embed html/*.html static
var files embed.FS

// Page names: each is html/<name>.html, which defines "content".
const (
	pageLogin          = "login"
	pageForgot         = "forgot"
	pageReset          = "reset"
	pageError          = "error"
	pageLogoutConfirm  = "logout_confirm"
	pageSignedOut      = "signed_out"
	pageDemo           = "demo"
	pageOTP            = "otp"
	pageMFAStep        = "mfa_step"
	pageChangePassword = "change_password"
	pageAccount        = "account"
	pageMessage        = "message"
	pageInvite         = "invite"
	pageHome           = "home"
)

// flowPages are the pages of the sign-in flows.
var flowPages = []string{pageLogin, pageForgot, pageReset, pageError, pageLogoutConfirm, pageSignedOut, pageDemo,
	pageOTP, pageMFAStep, pageChangePassword, pageAccount, pageMessage, pageInvite, pageHome}

// requiredPages are the pages New parses and checks: the sign-in flows'
// and the console's.
var requiredPages = append(slices.Clip(flowPages), adminPages...)

// scriptPages are the pages that load static/forms.js (the show-password
// buttons, the resend countdown) and so are served with script-src 'self'.
var scriptPages = []string{pageLogin, pageReset, pageOTP, pageChangePassword, pageAccount, pageInvite, pageAdminNewMember}

// passkeyPage is a page that may load static/passkey.js (the passkey
// forms): its render adds script-src and connect-src 'self' to the CSP.
type passkeyPage interface{ PasskeyScript() bool }

// scriptFile is the one script of the pages.
const scriptFile = "forms.js"

// StaticPrefix is the URL path under which StaticHandler must be mounted.
const StaticPrefix = "/static/"

// staticCacheControl lets browsers keep static files for a year. Page links
// carry a content hash (?v=...), so a changed file gets a new URL.
const staticCacheControl = brand.CacheControl

// Renderer renders the HTML pages. It is built once by New and is safe for
// concurrent use.
type Renderer struct {
	// pages maps a language code ("en", "ja") and a page name to the parsed
	// template set whose t function prints in that language.
	pages map[string]map[string]*template.Template
	// static holds the files under static/, served by StaticHandler.
	static fs.FS
	// versions maps a static file name to the short hash of its content.
	versions map[string]string
	// brand is the deployment's branding (WithBrand); assets are the
	// files it adds, by name (with their hash), and logoURL and
	// brandCSSURL their URLs, or empty.
	brand                Brand
	assets               map[string]asset
	logoURL, brandCSSURL string
}

// New parses every page for every supported language and checks that each
// required page and the stylesheet exist. It is called once at start-up.
func New(opts ...Option) (*Renderer, error) {
	if err := i18n.Check(); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, fmt.Errorf("templates: static files: %w", err)
	}
	versions, err := hashFiles(static)
	if err != nil {
		return nil, fmt.Errorf("templates: static files: %w", err)
	}
	for _, name := range []string{"style.css", scriptFile} {
		if _, ok := versions[name]; !ok {
			return nil, fmt.Errorf("templates: static/%s is missing", name)
		}
	}
	r := &Renderer{
		pages:    make(map[string]map[string]*template.Template),
		static:   static,
		versions: versions,
		brand:    Brand{Name: i18n.Plain(defaultProductName)},
		assets:   make(map[string]asset),
	}
	for _, o := range opts {
		o(r)
	}
	for _, tag := range i18n.Supported() {
		code := i18n.Code(tag)
		printer := i18n.NewPrinter(tag)
		funcs := template.FuncMap{
			"t":        printer.T,
			"targs":    func(key string, args []any) string { return printer.T(key, args...) },
			"static":   r.staticURL,
			"datetime": func(t time.Time) string { return localtime.Format(code, t) },
			"list":     func(xs ...string) []string { return xs },
			"brand":    r.brandFunc(code),
		}
		r.pages[code] = make(map[string]*template.Template, len(requiredPages))
		for _, page := range requiredPages {
			patterns := []string{"html/layout.html", "html/fields.html", "html/" + page + ".html"}
			if slices.Contains(adminPages, page) {
				patterns = append(patterns, adminPartials)
			}
			tmpl, err := template.New(page).Funcs(funcs).Funcs(passwordFuncs(printer, page)).ParseFS(files, patterns...)
			if err != nil {
				return nil, fmt.Errorf("templates: parse page %s: %w", page, err)
			}
			for _, name := range []string{"layout", "content"} {
				if tmpl.Lookup(name) == nil {
					return nil, fmt.Errorf("templates: page %s: template %q is not defined", page, name)
				}
			}
			r.pages[code][page] = tmpl
		}
	}
	return r, nil
}

// hashFiles returns the short content hash of every regular file in fsys.
func hashFiles(fsys fs.FS) (map[string]string, error) {
	versions := make(map[string]string)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		versions[name] = brand.Hash(data)
		return nil
	})
	return versions, err
}

// staticURL returns the URL of a static file with its content hash, for the
// template function static.
func (r *Renderer) staticURL(name string) (string, error) {
	v, ok := r.versions[name]
	if !ok {
		return "", fmt.Errorf("unknown static file %q", name)
	}
	return StaticPrefix + name + "?v=" + v, nil
}

// StaticHandler serves the embedded static files (the stylesheet) and the
// brand's files (logo, colours) under StaticPrefix; mount it at
// "/static/". Responses may be cached for a year: pages link to them with
// a content hash in the query or, for the brand's, in the name (another
// hash answers 404). Directory listings are not served.
func (r *Renderer) StaticHandler() http.Handler {
	files := http.FileServerFS(r.static)
	return http.StripPrefix(StaticPrefix, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := path.Clean("/" + req.URL.Path)[1:]
		if a, ok := r.assets[name]; ok {
			brand.Serve(w, req, a.mediaType, a.data)
			return
		}
		if _, ok := r.versions[name]; !ok {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Cache-Control", staticCacheControl)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, req)
	}))
}

// Base holds the fields every page has. Embed it in the page data.
type Base struct {
	// Lang is the page language, usually the result of i18n.Negotiate. Any
	// Japanese tag renders in Japanese, anything else in English.
	Lang language.Tag
	// Title is the catalog key of the page title (<title> and, on most
	// pages, the heading). Empty means the page's own default.
	Title string
	// LangSwitchEN and LangSwitchJA are the URLs of the language-switch
	// links. Leave them empty to have the renderer compute them from
	// CurrentURL with LangSwitchURL.
	LangSwitchEN, LangSwitchJA string
	// CurrentURL is the URL of the request (r.URL), used only to compute
	// empty LangSwitch* fields: its path and query with lang set. When it
	// is nil too, the links are just "?lang=en" and "?lang=ja".
	CurrentURL *url.URL
	// LangForm, set by the render method of a step's page (a sign-in
	// form, a code step, a new password), is the id of the form the
	// language switch posts again, with a "lang" field naming the
	// language: the handler shows the same step in it, with the non-secret
	// fields that were typed. Empty: the switch is two links.
	LangForm string
	// Brand, on a page tied to an organization, shows its own name and
	// logo instead of the deployment's.
	Brand BrandOverride
}

// LangCode returns the two-letter code of the page language, "en" or "ja";
// the templates use it for the lang attribute.
func (b Base) LangCode() string {
	return i18n.Code(b.Lang)
}

// complete returns b with the defaults filled in.
func (b Base) complete(defaultTitle string) Base {
	if b.Title == "" {
		b.Title = defaultTitle
	}
	if b.LangSwitchEN == "" {
		b.LangSwitchEN = LangSwitchURL(b.CurrentURL, "en")
	}
	if b.LangSwitchJA == "" {
		b.LangSwitchJA = LangSwitchURL(b.CurrentURL, "ja")
	}
	return b
}

// LangSwitchURL returns a same-origin relative URL (path and query only) for
// u with its lang query parameter set to lang, keeping every other parameter.
// The scheme and host of u are dropped, so the link can never leave the
// site. A nil u gives "?lang=" + lang.
func LangSwitchURL(u *url.URL, lang string) string {
	q := url.Values{}
	p := ""
	if u != nil {
		q = u.Query()
		p = u.EscapedPath()
		// A path starting with "//" would read as a host.
		if strings.HasPrefix(p, "//") {
			p = "/" + strings.TrimLeft(p, "/")
		}
	}
	q.Set("lang", lang)
	return p + "?" + q.Encode()
}

// render executes page in lang into a buffer and only then writes it with
// status. When execution fails it writes a plain 500 and returns the error.
// Errors writing to w (a client that went away) are not reported.
func (r *Renderer) render(w http.ResponseWriter, status int, page string, lang language.Tag, data any) error {
	code := i18n.Code(lang)
	tmpl := r.pages[code][page]
	if tmpl == nil {
		writeServerError(w)
		return fmt.Errorf("templates: render %s: page not parsed", page)
	}
	return r.execute(w, status, tmpl, code, page, data)
}

// execute runs tmpl's "layout" into a buffer and writes it.
func (r *Renderer) execute(w http.ResponseWriter, status int, tmpl *template.Template, code, page string, data any) error {
	if status == 0 {
		status = http.StatusOK
	}
	if status < 200 || status > 599 {
		writeServerError(w)
		return fmt.Errorf("templates: render %s: invalid status %d", page, status)
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout", data); err != nil {
		writeServerError(w)
		return fmt.Errorf("templates: render %s: %w", page, err)
	}
	h := w.Header()
	if csp := h.Get("Content-Security-Policy"); csp != "" {
		ps, ok := data.(passkeyPage)
		passkeys := ok && ps.PasskeyScript()
		if (passkeys || slices.Contains(scriptPages, page)) && !strings.Contains(csp, "script-src") {
			csp += "; script-src 'self'"
		}
		if passkeys {
			// static/passkey.js asks the begin URLs for a ceremony's options.
			csp += "; connect-src 'self'"
		}
		h.Set("Content-Security-Policy", csp)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", code)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// writeServerError writes the minimal plain-text 500 used when a page cannot
// be rendered.
func writeServerError(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
