package brand

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"
)

func TestParseColor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Color
		ok   bool
	}{
		{"#0b5d4b", Color{0x0b, 0x5d, 0x4b}, true},
		{"#0B5D4B", Color{0x0b, 0x5d, 0x4b}, true},
		{"#fff", Color{0xff, 0xff, 0xff}, true},
		{" #abc ", Color{0xaa, 0xbb, 0xcc}, true},
		{"rgb(11, 93, 75)", Color{11, 93, 75}, true},
		{"RGB(0,0,0)", Color{}, true},
		{"green", Color{}, false},
		{"#ggg", Color{}, false},
		{"#12345", Color{}, false},
		{"#11223344", Color{}, false},
		{"rgb(256, 0, 0)", Color{}, false},
		{"rgb(1, 2)", Color{}, false},
		{"rgba(0, 0, 0, 0.5)", Color{}, false},
		{"rgb(-1, 0, 0)", Color{}, false},
		{"", Color{}, false},
	} {
		got, err := ParseColor(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseColor(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrColor) {
			t.Errorf("ParseColor(%q) error %v is not ErrColor", tc.in, err)
		}
	}
}

func TestContrast(t *testing.T) {
	for _, tc := range []struct {
		a, b Color
		want float64
	}{
		{Color{0, 0, 0}, Color{255, 255, 255}, 21},
		{Color{255, 255, 255}, Color{0, 0, 0}, 21},
		{Color{0x77, 0x77, 0x77}, Color{255, 255, 255}, 4.48},
		{DefaultPrimary, Card, 6.09},
		{Color{1, 2, 3}, Color{1, 2, 3}, 1},
	} {
		if got := Contrast(tc.a, tc.b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("Contrast(%v, %v) = %.3f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestImageType(t *testing.T) {
	var p, j bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	webp := append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"), make([]byte, 13)...)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"png", p.Bytes(), TypePNG},
		{"jpeg", j.Bytes(), TypeJPEG},
		{"webp", webp, TypeWebP},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), TypeSVG},
		{"svg with prolog", []byte("\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- logo -->\n<!DOCTYPE svg>\n<svg\n viewBox=\"0 0 1 1\"></svg>"), TypeSVG},
		{"html", []byte("<html><svg></svg></html>"), ""},
		{"svg-like element", []byte("<svgx/>"), ""},
		{"text", []byte("logo"), ""},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ""},
		{"empty", nil, ""},
		{"too large", append(p.Bytes(), make([]byte, MaxLogoBytes)...), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ImageType(tc.data)
			if got != tc.want || (err == nil) != (tc.want != "") {
				t.Errorf("ImageType = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestStylesheet(t *testing.T) {
	if css := (Colors{}).Stylesheet(); css != nil {
		t.Errorf("no colours: stylesheet %q, want none", css)
	}
	primary, bg := Color{0x0b, 0x5d, 0x4b}, Color{0xee, 0xf3, 0xf1}
	css := string(Colors{Primary: &primary, Background: &bg}.Stylesheet())
	for _, want := range []string{"color-scheme: light;", "--accent: #0b5d4b;", "--bg: #eef3f1;", "--accent-text: #ffffff;", "--text: #1c2330;"} {
		if !strings.Contains(css, want) {
			t.Errorf("stylesheet lacks %q:\n%s", want, css)
		}
	}
	if strings.Count(css, "--accent:") != 1 {
		t.Errorf("stylesheet sets --accent more than once:\n%s", css)
	}
}
