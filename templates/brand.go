package templates

import (
	"strings"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/i18n"
)

// Brand is the deployment's branding (the branding keys) as pages show
// it: the product name in each language, a support line, the logo and
// the colours' stylesheet. The zero Brand names the product "sekisho"
// and adds nothing else.
type Brand struct {
	// Name replaces "sekisho" in the tab title and the page header.
	Name i18n.Text
	// Support is a contact line shown on error pages; empty shows none.
	Support i18n.Text
	// Logo is the logo image (checked by brand.ImageType) and LogoType
	// its media type; nil shows none.
	Logo     []byte
	LogoType string
	// Stylesheet is the generated CSS of the configured colours
	// (brand.Colors.Stylesheet), linked after style.css; nil links none.
	Stylesheet []byte
}

// Option configures New.
type Option func(*Renderer)

// WithBrand shows the deployment's branding on every page.
func WithBrand(b Brand) Option {
	return func(r *Renderer) {
		if b.Name.IsZero() {
			b.Name = i18n.Plain(defaultProductName)
		}
		r.brand = b
		if b.Logo != nil {
			r.logoURL = r.addAsset(b.LogoPath(), b.LogoType, b.Logo)
		}
		if b.Stylesheet != nil {
			r.brandCSSURL = r.addAsset(assetPath("brand-", ".css", b.Stylesheet), "text/css; charset=utf-8", b.Stylesheet)
		}
	}
}

// LogoPath is the path the logo is served at (under StaticPrefix, with
// its content hash), or "" without a logo; mails link to it under the
// issuer.
func (b Brand) LogoPath() string {
	if b.Logo == nil {
		return ""
	}
	return assetPath("logo-", brand.Extension(b.LogoType), b.Logo)
}

// assetPath is the path of a file made at start-up: prefix-<hash><ext>
// under StaticPrefix.
func assetPath(prefix, ext string, data []byte) string {
	return StaticPrefix + prefix + brand.Hash(data) + ext
}

// defaultProductName names the product when no brand does.
const defaultProductName = "sekisho"

// asset is a file made at start-up (the logo, the brand stylesheet),
// served under StaticPrefix at a name that carries its content hash.
type asset struct {
	mediaType string
	data      []byte
}

// addAsset registers data to be served at path and returns the path.
func (r *Renderer) addAsset(path, mediaType string, data []byte) string {
	r.assets[strings.TrimPrefix(path, StaticPrefix)] = asset{mediaType: mediaType, data: data}
	return path
}

// BrandOverride is an organization's own name and logo, shown instead of
// the deployment's on a page tied to the organization. Empty fields keep
// the deployment's.
type BrandOverride struct {
	// Name is the organization's brand name in the page's language.
	Name string
	// LogoURL is the organization's logo (a same-origin path).
	LogoURL string
}

// PageBrand is the branding of one page, as the layout shows it.
type PageBrand struct {
	Name       string // never empty
	LogoURL    string // or empty
	Stylesheet string // the colours' stylesheet, or empty
	Support    string // or empty
}

// brandFunc returns the template function brand for a language code: the
// page's branding, the organization's override first.
func (r *Renderer) brandFunc(code string) func(BrandOverride) PageBrand {
	return func(o BrandOverride) PageBrand {
		b := PageBrand{Name: r.brand.Name.In(code), LogoURL: r.logoURL, Stylesheet: r.brandCSSURL,
			Support: r.brand.Support.In(code)}
		if o.Name != "" {
			b.Name = o.Name
		}
		if o.LogoURL != "" {
			b.LogoURL = o.LogoURL
		}
		return b
	}
}
