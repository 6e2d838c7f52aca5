package config

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sekisho/sekisho/i18n"
)

// writeFile writes data to name in a new temporary directory and returns
// its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pngBytes is a small PNG image.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestValidateBranding(t *testing.T) {
	logo := writeFile(t, "logo.png", pngBytes(t))
	svg := writeFile(t, "logo.svg", []byte("<!-- mark -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"))
	text := writeFile(t, "logo.png", []byte("not an image, whatever the name says"))
	for _, tc := range []struct {
		name     string
		branding Branding
		wantKeys []string // nil when the branding is valid
	}{
		{"none", Branding{}, nil},
		{"name string", Branding{Name: Labels{JA: "Acme", EN: "Acme"}}, nil},
		{"name map", Branding{Name: Labels{JA: "アクメ", EN: "Acme"}}, nil},
		{"name without en", Branding{Name: Labels{JA: "アクメ"}}, []string{"branding.name"}},
		{"name with a control character", Branding{Name: Labels{JA: "A\ncme", EN: "Acme"}}, []string{"branding.name.ja"}},
		{"support without ja", Branding{Support: Labels{EN: "help@example.com"}}, []string{"branding.support"}},
		{"png logo", Branding{Logo: logo}, nil},
		{"svg logo", Branding{Logo: svg}, nil},
		{"missing logo", Branding{Logo: filepath.Join(t.TempDir(), "none.png")}, []string{"branding.logo"}},
		{"logo not an image", Branding{Logo: text}, []string{"branding.logo"}},
		{"colours", Branding{Colors: BrandColors{Primary: "#0b5d4b", PrimaryText: "#fff", Background: "rgb(238, 243, 241)"}}, nil},
		{"bad colour", Branding{Colors: BrandColors{Primary: "green"}}, []string{"branding.colors.primary"}},
		{"bad hex", Branding{Colors: BrandColors{Background: "#ggg"}}, []string{"branding.colors.background"}},
		{"colour with alpha", Branding{Colors: BrandColors{PrimaryText: "rgba(0, 0, 0, 0.5)"}}, []string{"branding.colors.primary_text"}},
		{"button text unreadable", Branding{Colors: BrandColors{Primary: "#0b5d4b", PrimaryText: "#2e6b5e"}}, []string{"branding.colors.primary_text"}},
		{"default white text on a light primary", Branding{Colors: BrandColors{Primary: "#f6c343"}},
			[]string{"branding.colors.primary", "branding.colors.primary_text"}},
		{"page text unreadable on a dark background", Branding{Colors: BrandColors{Background: "#303640"}},
			[]string{"branding.colors.background", "branding.colors.primary"}},
		{"links unreadable on the background", Branding{Colors: BrandColors{Primary: "#1f5fbf", Background: "#bcd0f0"}},
			[]string{"branding.colors.primary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			c.Branding = tc.branding
			err := c.Validate()
			if tc.wantKeys == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if diff := cmp.Diff(tc.wantKeys, problemKeys(t, err)); diff != "" {
				t.Errorf("problem keys mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestValidateBrandingContrastMessage: a refused pair says why, with the
// ratio.
func TestValidateBrandingContrastMessage(t *testing.T) {
	c := validConfig()
	c.Branding.Colors = BrandColors{Primary: "#0b5d4b", PrimaryText: "#2e6b5e"}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "branding.colors.primary_text: unreadable: button text in #2e6b5e on #0b5d4b has a contrast ratio of 1.") {
		t.Errorf("Validate = %v", err)
	}
}

// TestParseTexts: a name is one string or a mapping of ja and en; other
// keys are refused with their line.
func TestParseTexts(t *testing.T) {
	c, err := parse([]byte("branding:\n  name: Acme\n  support: {ja: 窓口：0120-000-000, en: \"Help: 0120-000-000\"}\n"+
		"clients:\n  - id: web\n    name:\n      ja: ウェブ\n      en: Web\nlegacy:\n  name: 旧サイト\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Labels{JA: "Acme", EN: "Acme"}, c.Branding.Name); diff != "" {
		t.Errorf("branding.name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Labels{JA: "窓口：0120-000-000", EN: "Help: 0120-000-000"}, c.Branding.Support); diff != "" {
		t.Errorf("branding.support (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Labels{JA: "ウェブ", EN: "Web"}, c.Clients[0].Name); diff != "" {
		t.Errorf("clients[0].name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Labels{JA: "旧サイト", EN: "旧サイト"}, c.Legacy.Name); diff != "" {
		t.Errorf("legacy.name (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"branding:\n  name: {ja: アクメ, fr: Acmé}\n", `unknown field "fr" (branding.name.fr)`},
		{"clients:\n  - id: web\n    name: [Web]\n", "clients[0].name (line 3): want a string, or a mapping of ja and en"},
	} {
		_, err := parse([]byte(tc.yaml), func(string) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestProductName(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want i18n.Text
	}{
		{"branding.name", Config{Branding: Branding{Name: Labels{JA: "アクメ", EN: "Acme"}}, SMTP: SMTP{From: "Shop <a@example.com>"}},
			i18n.Text{JA: "アクメ", EN: "Acme"}},
		{"smtp.from's name", Config{SMTP: SMTP{From: "Example Shop <a@example.com>"}}, i18n.Plain("Example Shop")},
		{"default", Config{SMTP: SMTP{From: "a@example.com"}}, i18n.Plain("sekisho")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.ProductName(); got != tc.want {
				t.Errorf("ProductName() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLoadLogoRelative: a relative branding.logo is read from the
// configuration file's directory, whatever the working directory.
func TestLoadLogoRelative(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "logo.png"), pngBytes(t), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sekisho.yaml")
	if err := os.WriteFile(path, []byte("branding:\n  logo: logo.png\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	data, mediaType, err := c.Branding.LoadLogo()
	if err != nil || mediaType != "image/png" || len(data) == 0 {
		t.Errorf("LoadLogo = %d bytes, %q, %v; want the PNG", len(data), mediaType, err)
	}
}
