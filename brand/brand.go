// Package brand provides what a deployment's branding is made of, checked
// before it reaches a page: CSS colours (parsed, compared by their WCAG
// contrast ratio), logo images (recognised by their content, not their
// name) and the generated stylesheet that carries the colours.
//
// Nothing here is arbitrary CSS: an operator gives three colours, and the
// stylesheet sets the page's custom properties from them.
package brand

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Color is an sRGB colour.
type Color struct{ R, G, B uint8 }

// String writes the colour as #rrggbb.
func (c Color) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// ErrColor reports a colour that is not one of the accepted forms.
var ErrColor = errors.New(`want a colour as "#rgb", "#rrggbb" or "rgb(r, g, b)"`)

// ParseColor reads "#rgb", "#rrggbb" or "rgb(r, g, b)" (0-255 each),
// case-insensitively. Named colours, alpha and other functions are
// refused: a colour with transparency has no fixed contrast.
func ParseColor(s string) (Color, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		if len(hex) == 3 {
			hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
		}
		if len(hex) != 6 {
			return Color{}, ErrColor
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return Color{}, ErrColor
		}
		return Color{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
	}
	args, ok := strings.CutPrefix(s, "rgb(")
	if !ok || !strings.HasSuffix(args, ")") {
		return Color{}, ErrColor
	}
	parts := strings.Split(strings.TrimSuffix(args, ")"), ",")
	if len(parts) != 3 {
		return Color{}, ErrColor
	}
	var rgb [3]uint8
	for i, p := range parts {
		v, err := strconv.ParseUint(strings.TrimSpace(p), 10, 8)
		if err != nil {
			return Color{}, ErrColor
		}
		rgb[i] = uint8(v)
	}
	return Color{rgb[0], rgb[1], rgb[2]}, nil
}

// luminance is the WCAG 2 relative luminance of c.
func luminance(c Color) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// Contrast is the WCAG 2 contrast ratio of two colours, from 1 to 21.
func Contrast(a, b Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// MinContrast is the least contrast ratio accepted between a text colour
// and its background: WCAG 2 level AA for body text.
const MinContrast = 4.5

// The page's own colours (templates/static/style.css, light scheme) that
// the configured ones are checked against.
var (
	// PageText is the colour of the text that sits on the background.
	PageText = Color{0x1c, 0x23, 0x30}
	// Card is the background of the page's card, where links and
	// outlined buttons take the primary colour.
	Card = Color{0xff, 0xff, 0xff}
	// DefaultPrimary colours buttons and links when no primary colour
	// is configured.
	DefaultPrimary = Color{0x1f, 0x5f, 0xbf}
	// DefaultPrimaryText is the text on a primary button when only the
	// primary colour is configured.
	DefaultPrimaryText = Color{0xff, 0xff, 0xff}
	// DefaultBackground is the page's background.
	DefaultBackground = Color{0xf4, 0xf6, 0xf9}
)

// Colors are the configured colours; a nil one keeps the page's own.
type Colors struct {
	Primary, PrimaryText, Background *Color
}

// Empty reports whether no colour is configured.
func (c Colors) Empty() bool { return c.Primary == nil && c.PrimaryText == nil && c.Background == nil }

// Stylesheet is the CSS that sets the page's custom properties from the
// configured colours. It is linked after style.css. With any colour set,
// the page keeps its light scheme in a dark-mode browser too: the
// colours were checked against the light palette only.
func (c Colors) Stylesheet() []byte {
	if c.Empty() {
		return nil
	}
	// The light palette of style.css, restated so that a dark-mode
	// browser does not mix its own with the configured colours.
	palette := [][2]string{{"--bg", DefaultBackground.String()}, {"--card", "#ffffff"}, {"--text", PageText.String()},
		{"--muted", "#4f5b6d"}, {"--border", "#c3cad5"}, {"--accent", DefaultPrimary.String()}, {"--accent-text", "#ffffff"},
		{"--danger-bg", "#fdecec"}, {"--danger", "#a3161b"}, {"--ok-bg", "#e8f5ec"}, {"--ok", "#1d6b35"},
		{"--focus", "#b45309"}}
	for i, kv := range palette {
		var set *Color
		switch kv[0] {
		case "--bg":
			set = c.Background
		case "--accent":
			set = c.Primary
		case "--accent-text":
			set = c.PrimaryText
		}
		if set != nil {
			palette[i][1] = set.String()
		}
	}
	var b bytes.Buffer
	b.WriteString("/* sekisho: the deployment's colours (branding.colors), generated at start-up. */\n")
	b.WriteString(":root {\n  color-scheme: light;\n")
	for _, kv := range palette {
		fmt.Fprintf(&b, "  %s: %s;\n", kv[0], kv[1])
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// Image types a logo may have.
const (
	TypePNG  = "image/png"
	TypeJPEG = "image/jpeg"
	TypeWebP = "image/webp"
	TypeSVG  = "image/svg+xml"
)

// MaxLogoBytes bounds a logo: it is sent with every page's first load.
const MaxLogoBytes = 512 << 10

// ErrImage reports data that is not an accepted logo image.
var ErrImage = errors.New("not a PNG, JPEG, WebP or SVG image")

// ImageType recognises a logo by its content: PNG, JPEG, WebP or SVG.
// It returns the media type to serve it with.
func ImageType(data []byte) (string, error) {
	if len(data) == 0 {
		return "", fmt.Errorf("%w: the file is empty", ErrImage)
	}
	if len(data) > MaxLogoBytes {
		return "", fmt.Errorf("logo of %d bytes is larger than %d KiB", len(data), MaxLogoBytes>>10)
	}
	switch t := http.DetectContentType(data); t {
	case TypePNG, TypeJPEG, TypeWebP:
		return t, nil
	}
	if isSVG(data) {
		return TypeSVG, nil
	}
	return "", ErrImage
}

// isSVG reports whether data is an SVG document: optional XML
// declaration, comments and doctype, then an <svg root element.
func isSVG(data []byte) bool {
	s := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for {
		s = bytes.TrimLeft(s, " \t\r\n")
		switch {
		case bytes.HasPrefix(s, []byte("<?")):
			i := bytes.Index(s, []byte("?>"))
			if i < 0 {
				return false
			}
			s = s[i+2:]
		case bytes.HasPrefix(s, []byte("<!--")):
			i := bytes.Index(s, []byte("-->"))
			if i < 0 {
				return false
			}
			s = s[i+3:]
		case bytes.HasPrefix(s, []byte("<!")):
			i := bytes.IndexByte(s, '>')
			if i < 0 {
				return false
			}
			s = s[i+1:]
		default:
			return bytes.HasPrefix(s, []byte("<svg")) && len(s) > 4 && strings.ContainsRune(" \t\r\n>/", rune(s[4]))
		}
	}
}

// Hash is the short hex SHA-256 of a file's content that versions its URL,
// so a changed file gets a new one and the old one can be cached for good.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// CacheControl lets browsers keep a file whose URL carries its content
// hash for a year, without asking again.
const CacheControl = "public, max-age=31536000, immutable"

// Serve writes a file whose URL carries its content hash (Hash): cached
// for good. An SVG gets a policy of its own: its inline styles may apply,
// nothing in it may run or load.
func Serve(w http.ResponseWriter, r *http.Request, mediaType string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", mediaType)
	h.Set("Cache-Control", CacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	if mediaType == TypeSVG {
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

// Extension is the file name extension for a media type ImageType
// returns.
func Extension(mediaType string) string {
	switch mediaType {
	case TypePNG:
		return ".png"
	case TypeJPEG:
		return ".jpg"
	case TypeWebP:
		return ".webp"
	case TypeSVG:
		return ".svg"
	}
	return ""
}
