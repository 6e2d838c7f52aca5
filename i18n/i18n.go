package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/text/language"
)

//go:embed catalog/*.json
var catalogFS embed.FS

// supported lists the languages that have a catalog. The first one is the
// default: the matcher falls back to it.
var supported = []language.Tag{language.English, language.Japanese}

// matcher picks one of the supported languages; it is safe for concurrent
// use and never changes after initialisation.
var matcher = language.NewMatcher(supported)

// Limits on the untrusted inputs of Negotiate, so a hostile header costs
// little to parse.
const (
	maxLocales        = 16
	maxAcceptLanguage = 1024
)

// Supported returns the languages that have a catalog, English first.
func Supported() []language.Tag {
	return append([]language.Tag(nil), supported...)
}

// Negotiate chooses the page language. The sources are tried in order and the
// first one naming a supported language wins:
//
//  1. uiLocales, the OIDC ui_locales parameter already split on spaces, in
//     the client's order of preference;
//  2. cookieLang, the value of the "lang" cookie set by the language switch;
//  3. acceptLanguage, the browser's Accept-Language header.
//
// When none does, the result is fallback (the deployment's
// ui.default_language; English when fallback is not a supported tag). The
// result is always exactly one of the tags returned by Supported
// (language.English or language.Japanese), so it can be compared with ==
// and passed to Code.
func Negotiate(uiLocales []string, cookieLang string, acceptLanguage string, fallback language.Tag) language.Tag {
	if tag, ok := matchLocales(uiLocales); ok {
		return tag
	}
	if cookieLang != "" {
		if tag, ok := matchLocales([]string{cookieLang}); ok {
			return tag
		}
	}
	if tag, ok := matchAcceptLanguage(acceptLanguage); ok {
		return tag
	}
	for _, tag := range supported {
		if tag == fallback {
			return tag
		}
	}
	return supported[0]
}

// CodeOr returns the catalog code ("en", "ja") of lang, a BCP 47 tag such
// as an account's language, or def when lang is empty or names no
// language we have.
func CodeOr(lang, def string) string {
	if lang != "" {
		if tag, ok := matchLocales([]string{lang}); ok {
			return Code(tag)
		}
	}
	return def
}

// TagOf returns the supported tag of a catalog code ("ja": Japanese,
// anything else English).
func TagOf(code string) language.Tag {
	if code == "ja" {
		return language.Japanese
	}
	return language.English
}

// matchLocales matches a list of BCP 47 tags; malformed entries are skipped.
func matchLocales(locales []string) (language.Tag, bool) {
	if len(locales) > maxLocales {
		locales = locales[:maxLocales]
	}
	var tags []language.Tag
	for _, s := range locales {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		tag, err := language.Parse(s)
		if err != nil {
			continue
		}
		tags = append(tags, tag)
	}
	return match(tags)
}

// matchAcceptLanguage matches an Accept-Language header value; languages
// with q=0 are refused, as RFC 9110 says.
func matchAcceptLanguage(header string) (language.Tag, bool) {
	if header == "" || len(header) > maxAcceptLanguage {
		return language.Tag{}, false
	}
	tags, weights, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return language.Tag{}, false
	}
	wanted := tags[:0]
	for i, tag := range tags {
		if weights[i] > 0 {
			wanted = append(wanted, tag)
		}
	}
	return match(wanted)
}

// match returns the supported language that best fits tags, and whether any
// fits at all.
func match(tags []language.Tag) (language.Tag, bool) {
	if len(tags) == 0 {
		return language.Tag{}, false
	}
	_, index, confidence := matcher.Match(tags...)
	if confidence == language.No {
		return language.Tag{}, false
	}
	return supported[index], true
}

// IsCode reports whether code is the two-letter code of a catalog ("en",
// "ja").
func IsCode(code string) bool {
	for _, tag := range supported {
		if Code(tag) == code {
			return true
		}
	}
	return false
}

// Code returns the two-letter code of the catalog used for tag: "ja" for any
// Japanese tag, "en" for everything else. It is the value for the HTML lang
// attribute, the lang cookie and the ?lang= parameter.
func Code(tag language.Tag) string {
	if base, _ := tag.Base(); base.String() == "ja" {
		return "ja"
	}
	return "en"
}

// catalog maps a language code to its messages.
type catalog map[string]map[string]string

// catalogs loads the embedded catalogs once. The data is fixed at build
// time, so an error here is a programming error that Check and the package
// tests report; it never panics.
var catalogs = sync.OnceValues(loadCatalogs)

func loadCatalogs() (catalog, error) {
	c := make(catalog, len(supported))
	for _, tag := range supported {
		code := Code(tag)
		name := "catalog/" + code + ".json"
		data, err := catalogFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("i18n: read %s: %w", name, err)
		}
		var messages map[string]string
		if err := json.Unmarshal(data, &messages); err != nil {
			return nil, fmt.Errorf("i18n: decode %s: %w", name, err)
		}
		c[code] = messages
	}
	return c, nil
}

// Check reports whether the embedded catalogs load. Constructors that depend
// on the catalogs (such as the HTML renderer) call it to fail at start-up
// rather than show message keys to users.
func Check() error {
	_, err := catalogs()
	return err
}

// Has reports whether key has a message in the English catalog (and so, as
// the tests enforce, in every catalog).
func Has(key string) bool {
	c, err := catalogs()
	if err != nil {
		return false
	}
	_, ok := c["en"][key]
	return ok
}

// Keys returns every message key of the English catalog, in no particular
// order.
func Keys() []string {
	c, err := catalogs()
	if err != nil {
		return nil
	}
	keys := make([]string, 0, len(c["en"]))
	for k := range c["en"] {
		keys = append(keys, k)
	}
	return keys
}

// Printer formats messages in one language. The zero value prints English.
// A Printer is a small value, safe to copy and to use concurrently.
type Printer struct {
	code string
}

// NewPrinter returns a Printer for the catalog that serves tag (see Code).
func NewPrinter(tag language.Tag) Printer {
	return Printer{code: Code(tag)}
}

// Tag returns the language the Printer prints in.
func (p Printer) Tag() language.Tag {
	if p.code == "ja" {
		return language.Japanese
	}
	return language.English
}

// T returns the message for key, formatted with args by fmt.Sprintf when
// args are given. A key missing from the Printer's language falls back to
// English; a key missing everywhere is returned as it is, so the gap is
// visible rather than blank.
func (p Printer) T(key string, args ...any) string {
	c, err := catalogs()
	if err != nil {
		return key
	}
	code := p.code
	if code == "" {
		code = "en"
	}
	msg, ok := c[code][key]
	if !ok {
		msg, ok = c["en"][key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return msg
	}
	copied := false
	for i, a := range args {
		if t, ok := a.(Text); ok {
			if !copied {
				args, copied = append([]any(nil), args...), true
			}
			args[i] = t.In(code)
		}
	}
	return fmt.Sprintf(msg, args...)
}

// Text is a text the operator gives in each language, such as a product,
// client or organization name: shown as it is, never looked up in a
// catalog. As an argument of Printer.T it prints in the Printer's
// language.
type Text struct {
	JA, EN string
}

// Plain is a text that reads the same in every language.
func Plain(s string) Text { return Text{JA: s, EN: s} }

// In returns the text for a language code ("ja", anything else English).
func (t Text) In(code string) string {
	if code == "ja" {
		return t.JA
	}
	return t.EN
}

// IsZero reports whether the text is empty in every language.
func (t Text) IsZero() bool { return t.JA == "" && t.EN == "" }

// Or returns t, or def when t is empty.
func (t Text) Or(def Text) Text {
	if t.IsZero() {
		return def
	}
	return t
}

// T returns the message for key in the language of tag; it is shorthand for
// NewPrinter(tag).T(key, args...).
func T(tag language.Tag, key string, args ...any) string {
	return NewPrinter(tag).T(key, args...)
}
