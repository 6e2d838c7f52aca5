package config

import (
	"fmt"
	netmail "net/mail"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sekisho/sekisho/brand"
	"github.com/sekisho/sekisho/i18n"
)

// Branding names the deployment's product and sets its look: no
// arbitrary CSS or templates, only a name, a logo, three colours and a
// support line.
type Branding struct {
	// Name replaces "sekisho" in the tab title, the page header and
	// every mail: one string, or ja and en. Empty: the display name of
	// smtp.from, else "sekisho".
	Name Labels `yaml:"name"`
	// Logo is the path of a PNG, JPEG, WebP or SVG file (recognised by
	// its content), read at start-up and served from our own origin.
	Logo string `yaml:"logo"`
	// Colors are CSS colours (#rgb, #rrggbb or rgb(r, g, b)).
	Colors BrandColors `yaml:"colors"`
	// Support is a contact line shown on error pages and in mails, such
	// as "お問い合わせ：support@example.com": one string, or ja and en.
	Support Labels `yaml:"support"`
}

// BrandColors are the configured colours; each is optional.
type BrandColors struct {
	// Primary colours buttons, links and the focus of the console's
	// navigation; it must read on the white card and on the background.
	Primary string `yaml:"primary"`
	// PrimaryText is the text on a primary button (default white).
	PrimaryText string `yaml:"primary_text"`
	// Background is the page's background, behind the card; the page's
	// text (#1c2330) must read on it.
	Background string `yaml:"background"`
}

// DefaultProductName is the product's name when neither branding.name
// nor the display name of smtp.from gives one.
const DefaultProductName = "sekisho"

// maxBrandText bounds a name or a support line, in characters.
const maxBrandText = 200

// ProductName is the name pages and mails show: branding.name, else the
// display name of smtp.from, else "sekisho".
func (c *Config) ProductName() i18n.Text {
	if !c.Branding.Name.Text().IsZero() {
		return c.Branding.Name.Text()
	}
	if name := fromName(c.SMTP.From); name != "" {
		return i18n.Plain(name)
	}
	return i18n.Plain(DefaultProductName)
}

// LoadLogo reads and recognises branding.logo: its bytes and media type, or
// none when no logo is configured.
func (b Branding) LoadLogo() (data []byte, mediaType string, err error) {
	if b.Logo == "" {
		return nil, "", nil
	}
	data, err = os.ReadFile(b.Logo)
	if err != nil {
		return nil, "", err
	}
	mediaType, err = brand.ImageType(data)
	if err != nil {
		return nil, "", err
	}
	return data, mediaType, nil
}

// colorField is one configured colour and where its parsed value goes.
type colorField struct {
	key, value string
	dst        **brand.Color
}

// colorFields lists the configured colours, to be parsed into out.
func (b Branding) colorFields(out *brand.Colors) []colorField {
	return []colorField{
		{"branding.colors.primary", b.Colors.Primary, &out.Primary},
		{"branding.colors.primary_text", b.Colors.PrimaryText, &out.PrimaryText},
		{"branding.colors.background", b.Colors.Background, &out.Background},
	}
}

// ParseColors parses the configured colours (Validate has checked them).
func (b Branding) ParseColors() (brand.Colors, error) {
	var out brand.Colors
	for _, f := range b.colorFields(&out) {
		if f.value == "" {
			continue
		}
		c, err := brand.ParseColor(f.value)
		if err != nil {
			return brand.Colors{}, fmt.Errorf("%s: %w", f.key, err)
		}
		*f.dst = &c
	}
	return out, nil
}

// branding checks the branding keys: texts, the logo file, the colours
// and their contrast.
func (v *validator) branding(b Branding) {
	v.text("branding.name", b.Name)
	v.text("branding.support", b.Support)
	if b.Logo != "" {
		if _, _, err := b.LoadLogo(); err != nil {
			v.add("branding.logo", "%v", err)
		}
	}
	colors := brand.Colors{}
	ok := true
	for _, f := range b.colorFields(&colors) {
		if f.value == "" {
			continue
		}
		c, err := brand.ParseColor(f.value)
		if err != nil {
			v.add(f.key, "%q: %v", f.value, err)
			ok = false
			continue
		}
		*f.dst = &c
	}
	if !ok || colors.Empty() {
		return
	}
	primary, text, bg := brand.DefaultPrimary, brand.DefaultPrimaryText, brand.DefaultBackground
	if colors.Primary != nil {
		primary = *colors.Primary
	}
	if colors.PrimaryText != nil {
		text = *colors.PrimaryText
	}
	if colors.Background != nil {
		bg = *colors.Background
	}
	check := func(key string, fg, back brand.Color, what string) bool {
		if r := brand.Contrast(fg, back); r < brand.MinContrast {
			v.add(key, "unreadable: %s has a contrast ratio of %.2f:1, less than %.1f:1", what, r, brand.MinContrast)
			return false
		}
		return true
	}
	if colors.Background != nil {
		check("branding.colors.background", brand.PageText, bg, fmt.Sprintf("the page's text (%s) on %s", brand.PageText, bg))
	}
	if colors.Primary != nil || colors.Background != nil {
		if check("branding.colors.primary", primary, brand.Card, fmt.Sprintf("links in %s on the white card", primary)) {
			check("branding.colors.primary", primary, bg, fmt.Sprintf("links in %s on the background %s", primary, bg))
		}
	}
	if colors.Primary != nil || colors.PrimaryText != nil {
		check("branding.colors.primary_text", text, primary, fmt.Sprintf("button text in %s on %s", text, primary))
	}
}

// text checks a name or line given in each language: both or one string,
// short, no control characters.
func (v *validator) text(key string, l Labels) {
	if l.Partial() {
		v.add(key, "give both ja and en, or one string for both")
	}
	for lang, s := range map[string]string{"ja": l.JA, "en": l.EN} {
		if strings.ContainsFunc(s, unicode.IsControl) || utf8.RuneCountInString(s) > maxBrandText {
			v.add(key+"."+lang, "must be at most %d characters, without control characters", maxBrandText)
		}
	}
}

// fromName is the display name of an address such as "Example Login
// <login@example.com>", or "".
func fromName(from string) string {
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return ""
	}
	return a.Name
}
