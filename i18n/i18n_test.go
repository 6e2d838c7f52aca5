package i18n

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/language"
)

func TestCatalogsLoad(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("Check() = %v", err)
	}
}

// TestCatalogsHaveSameKeys enforces that every key exists in every language.
func TestCatalogsHaveSameKeys(t *testing.T) {
	c, err := catalogs()
	if err != nil {
		t.Fatal(err)
	}
	en := sortedKeys(c["en"])
	for _, tag := range supported {
		code := Code(tag)
		t.Run(code, func(t *testing.T) {
			if diff := cmp.Diff(en, sortedKeys(c[code])); diff != "" {
				t.Errorf("keys of %s differ from en (-en +%s):\n%s", code, code, diff)
			}
		})
	}
}

// TestCatalogsNoDuplicateKeys catches a key written twice in one file, which
// encoding/json would silently resolve to the last value.
func TestCatalogsNoDuplicateKeys(t *testing.T) {
	for _, tag := range supported {
		name := "catalog/" + Code(tag) + ".json"
		t.Run(name, func(t *testing.T) {
			data, err := catalogFS.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			if _, err := dec.Token(); err != nil { // {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					t.Fatal(err)
				}
				key := tok.(string)
				if seen[key] {
					t.Errorf("duplicate key %q", key)
				}
				seen[key] = true
				if _, err := dec.Token(); err != nil { // value
					t.Fatal(err)
				}
			}
		})
	}
}

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// TestCatalogsPlaceholdersMatch checks that each translation takes the same
// arguments as the English message, and that no message is empty.
func TestCatalogsPlaceholdersMatch(t *testing.T) {
	c, err := catalogs()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range sortedKeys(c["en"]) {
		t.Run(key, func(t *testing.T) {
			want := args(c["en"][key])
			for _, tag := range supported {
				code := Code(tag)
				msg := c[code][key]
				if msg == "" {
					t.Errorf("%s: empty message", code)
				}
				if diff := cmp.Diff(want, args(msg)); diff != "" {
					t.Errorf("%s: %q takes other arguments than en %q (-en +%s):\n%s", code, msg, c["en"][key], code, diff)
				}
			}
		})
	}
}

// args returns the argument numbers (1-based) that the fmt verbs of msg
// consume, sorted.
func args(msg string) []int {
	var out []int
	next := 1
	for _, m := range verb.FindAllStringSubmatch(msg, -1) {
		if m[0] == "%%" {
			continue
		}
		n := next
		if m[1] != "" {
			n = int(m[1][1] - '0')
			for _, d := range m[1][2 : len(m[1])-1] {
				n = n*10 + int(d-'0')
			}
		}
		out = append(out, n)
		next = n + 1
	}
	slices.Sort(out)
	return out
}

// TestRequiredKeys lists the keys other packages rely on.
func TestRequiredKeys(t *testing.T) {
	for _, key := range []string{
		"login.title", "login.email", "login.password", "login.submit",
		"login.continue_to", "login.forgot",
		"login.error.invalid", "login.error.missing", "login.error.throttled",
		"error.title", "error.unknown_client", "error.bad_redirect_uri",
		"error.expired", "error.invalid_request", "error.unavailable",
		"error.not_found", "error.cross_site", "error.wrong_browser",
		"error.server", "error.back_to_app",
		"logout.title", "logout.question", "logout.submit", "logout.cancel",
		"signedout.title", "signedout.message", "signedout.back", "signedout.back_to",
		"demo.title", "demo.signin", "demo.refresh", "demo.logout",
	} {
		if !Has(key) {
			t.Errorf("Has(%q) = false", key)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		uiLocales []string
		cookie    string
		accept    string
		want      language.Tag // none: the fallback
	}{
		{name: "nothing"},
		{name: "accept ja", accept: "ja,en-US;q=0.9,en;q=0.8", want: language.Japanese},
		{name: "accept ja-JP", accept: "ja-JP", want: language.Japanese},
		{name: "accept en-GB", accept: "en-GB,ja;q=0.5", want: language.English},
		{name: "accept unsupported then ja", accept: "fr-FR,fr;q=0.9,ja;q=0.5", want: language.Japanese},
		{name: "accept only unsupported", accept: "fr,de;q=0.5"},
		{name: "accept q=0 refuses", accept: "ja;q=0,fr"},
		{name: "accept garbage", accept: ";;;,,="},
		{name: "cookie beats accept", cookie: "en", accept: "ja", want: language.English},
		{name: "cookie ja", cookie: "ja", accept: "en", want: language.Japanese},
		{name: "bad cookie falls through", cookie: "not a tag!", accept: "ja", want: language.Japanese},
		{name: "unsupported cookie falls through", cookie: "fr", accept: "ja", want: language.Japanese},
		{name: "ui_locales beats cookie", uiLocales: []string{"ja"}, cookie: "en", accept: "en", want: language.Japanese},
		{name: "ui_locales in order", uiLocales: []string{"fr-CA", "en", "ja"}, want: language.English},
		{name: "ui_locales skip unsupported", uiLocales: []string{"fr-CA", "ja-JP"}, cookie: "en", want: language.Japanese},
		{name: "ui_locales only unsupported", uiLocales: []string{"fr", "!!"}, cookie: "ja", want: language.Japanese},
		{name: "ui_locales empty entries", uiLocales: []string{"", " "}, accept: "ja", want: language.Japanese},
	} {
		// Each case under both fallbacks (ui.default_language), and under
		// a fallback we have no catalog for (English).
		for _, fb := range []struct{ fallback, got language.Tag }{
			{language.Japanese, language.Japanese}, {language.English, language.English}, {language.French, language.English},
		} {
			t.Run(tc.name+"/"+fb.fallback.String(), func(t *testing.T) {
				want := tc.want
				if want == (language.Tag{}) {
					want = fb.got
				}
				if got := Negotiate(tc.uiLocales, tc.cookie, tc.accept, fb.fallback); got != want {
					t.Errorf("Negotiate(%q, %q, %q, %v) = %v, want %v", tc.uiLocales, tc.cookie, tc.accept, fb.fallback, got, want)
				}
			})
		}
	}
}

func TestNegotiateReturnsSupportedTag(t *testing.T) {
	// The result must be one of Supported() exactly, without the -u-rg
	// extensions the matcher may add, so callers can compare with ==.
	for _, accept := range []string{"ja-JP", "en-US", "en-AU", "ja-Hira", "zh"} {
		got := Negotiate(nil, "", accept, language.Japanese)
		if !slices.Contains(Supported(), got) {
			t.Errorf("Negotiate(%q) = %v, not in %v", accept, got, Supported())
		}
	}
}

func TestCodeOr(t *testing.T) {
	for _, tc := range []struct{ lang, def, want string }{
		{"", "ja", "ja"}, {"", "en", "en"}, {"en", "ja", "en"}, {"en-US", "ja", "en"}, {"ja-JP", "en", "ja"},
		{"fr", "ja", "ja"}, {"fr", "en", "en"}, {"not a tag!", "ja", "ja"},
	} {
		if got := CodeOr(tc.lang, tc.def); got != tc.want {
			t.Errorf("CodeOr(%q, %q) = %q, want %q", tc.lang, tc.def, got, tc.want)
		}
	}
}

func TestCode(t *testing.T) {
	for _, tc := range []struct {
		tag  language.Tag
		want string
	}{
		{language.English, "en"},
		{language.Japanese, "ja"},
		{language.MustParse("ja-JP"), "ja"},
		{language.MustParse("en-GB"), "en"},
		{language.Und, "en"},
		{language.French, "en"},
	} {
		if got := Code(tc.tag); got != tc.want {
			t.Errorf("Code(%v) = %q, want %q", tc.tag, got, tc.want)
		}
	}
}

func TestT(t *testing.T) {
	for _, tc := range []struct {
		name string
		tag  language.Tag
		key  string
		args []any
		want string
	}{
		{"en", language.English, "login.title", nil, "Sign in"},
		{"ja", language.Japanese, "login.title", nil, "ログイン"},
		{"ja-JP", language.MustParse("ja-JP"), "login.submit", nil, "ログイン"},
		{"unsupported is English", language.French, "login.title", nil, "Sign in"},
		{"argument en", language.English, "login.continue_to", []any{"Portal"}, "Sign in to continue to Portal."},
		{"argument ja", language.Japanese, "login.continue_to", []any{"ポータル"}, "「ポータル」を利用するには、ログインしてください。"},
		{"missing key", language.Japanese, "no.such.key", nil, "no.such.key"},
		{"missing key with args", language.English, "no.such.key", []any{1}, "no.such.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := T(tc.tag, tc.key, tc.args...); got != tc.want {
				t.Errorf("T(%v, %q) = %q, want %q", tc.tag, tc.key, got, tc.want)
			}
		})
	}
}

func TestPrinter(t *testing.T) {
	var zero Printer
	if got, want := zero.T("login.title"), "Sign in"; got != want {
		t.Errorf("zero Printer T = %q, want %q", got, want)
	}
	if got := zero.Tag(); got != language.English {
		t.Errorf("zero Printer Tag = %v, want en", got)
	}
	p := NewPrinter(language.MustParse("ja-JP"))
	if got := p.Tag(); got != language.Japanese {
		t.Errorf("Tag = %v, want ja", got)
	}
	if got, want := p.T("logout.question"), "ログアウトしますか？"; got != want {
		t.Errorf("T = %q, want %q", got, want)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestIsCode(t *testing.T) {
	for code, want := range map[string]bool{"en": true, "ja": true, "fr": false, "": false, "JA": false, "ja-JP": false} {
		if got := IsCode(code); got != want {
			t.Errorf("IsCode(%q) = %v, want %v", code, got, want)
		}
	}
}
