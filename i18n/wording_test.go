package i18n

import (
	"regexp"
	"testing"

	"golang.org/x/text/language"
)

// japaneseColon finds an ASCII colon right after a Japanese character
// (kana, kanji, the prolonged sound mark or Japanese punctuation): Japanese
// text takes the full-width colon "：".
var japaneseColon = regexp.MustCompile(`[\p{Hiragana}\p{Katakana}\p{Han}ー、。」）]\s*:`)

// signInKatakana is the word the Japanese text does not use.
var signInKatakana = regexp.MustCompile(`サインイン`)

// checkJapaneseWording reports why a Japanese text breaks the house
// wording: "サインイン" (the word for signing in is ログイン), or an ASCII
// colon after Japanese. Empty means none.
func checkJapaneseWording(s string) string {
	switch {
	case signInKatakana.MatchString(s):
		return "uses サインイン: the word for signing in is ログイン"
	case japaneseColon.MatchString(s):
		return "has an ASCII colon after Japanese: use the full-width ："
	}
	return ""
}

func TestJapaneseCatalogWording(t *testing.T) {
	c, err := catalogs()
	if err != nil {
		t.Fatal(err)
	}
	for key, msg := range c["ja"] {
		if why := checkJapaneseWording(msg); why != "" {
			t.Errorf("ja %s %s: %q", key, why, msg)
		}
	}
}

// The check itself finds what it is meant to find.
func TestCheckJapaneseWording(t *testing.T) {
	for _, tc := range []struct {
		in  string
		bad bool
	}{
		{"ログインしてください", false},
		{"サインインしてください", true},
		{"お問い合わせ：support@example.com", false},
		{"お問い合わせ: support@example.com", true},
		{"確認コード:123456", true},
		{"（任意）: x", true},
		{"Time: 10:00", false},
		{"https://example.com:8443/", false},
	} {
		if got := checkJapaneseWording(tc.in) != ""; got != tc.bad {
			t.Errorf("checkJapaneseWording(%q) reports %v, want %v", tc.in, got, tc.bad)
		}
	}
}

func TestTextArgument(t *testing.T) {
	name := Text{JA: "関所", EN: "Sekisho"}
	if got := T(language.Japanese, "legacy.form_link", name); got != "関所のパスワードでログイン" {
		t.Errorf("ja: %q", got)
	}
	if got := T(language.English, "legacy.form_link", name); got != "Sign in with your Sekisho password" {
		t.Errorf("en: %q", got)
	}
}
