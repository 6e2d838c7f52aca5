package identifier

import (
	"errors"
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"plain", "alice@example.com", "alice@example.com", false},
		{"trimmed", "  alice@example.com\t", "alice@example.com", false},
		{"case kept in local part, domain lower-cased", "Alice@Example.COM", "Alice@example.com", false},
		{"full-width", "ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ", "alice@example.com", false},
		{"full-width at sign", "alice＠example.com", "alice@example.com", false},
		{"IDN domain as A-label", "taro@例え.jp", "taro@xn--r8jz45g.jp", false},
		{"plus and dots", "a.b+tag@example.com", "a.b+tag@example.com", false},
		{"single-label domain", "ops@localhost", "ops@localhost", false},
		{"pasted with a zero-width space and a BOM", "\ufeffalice@example.com\u200b", "alice@example.com", false},
		{"fully qualified domain", "alice@example.com.", "alice@example.com", false},
		{"CR LF", "alice@example.com\r\nBcc: x@example.com", "", true},
		{"NUL", "alice\x00@example.com", "", true},
		{"invalid UTF-8", "alice\xff@example.com", "", true},
		{"no at", "alice.example.com", "", true},
		{"empty local", "@example.com", "", true},
		{"empty domain", "alice@", "", true},
		{"space inside", "al ice@example.com", "", true},
		{"display name", "Alice <alice@example.com>", "", true},
		{"leading dot", ".alice@example.com", "", true},
		{"double dot", "al..ice@example.com", "", true},
		{"non-ASCII local part", "山田@example.jp", "", true},
		{"Cyrillic look-alike local part", "аlice@example.com", "", true},
		{"underscore in domain", "alice@ex_ample.com", "", true},
		{"local part too long", strings.Repeat("a", 65) + "@example.com", "", true},
		{"too long", strings.Repeat("a", 60) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Email(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadEmail) {
					t.Fatalf("Email(%q) = %q, %v; want ErrBadEmail", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Email(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestKeyFoldsLookAlikes(t *testing.T) {
	for _, in := range []string{"alice@example.com", "ALICE@example.com", " ａｌｉｃｅ@ＥＸＡＭＰＬＥ.com ", "Alice＠example.com"} {
		if got := Key(in); got != "alice@example.com" {
			t.Errorf("Key(%q) = %q, want alice@example.com", in, got)
		}
	}
	if Same("alice@example.com", "bob@example.com") {
		t.Error("different addresses compare the same")
	}
	if got := Key("  Not An Address "); got != "not an address" {
		t.Errorf("Key of bad input = %q", got)
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"empty", "", "", false},
		{"blank", "   ", "", false},
		{"plain", "Alice Liddell", "Alice Liddell", false},
		{"Japanese with ideographic space", "山田　太郎", "山田 太郎", false},
		{"full-width letters", "ＡＢＣ株式会社", "ABC株式会社", false},
		{"trimmed and collapsed", "  Alice   Liddell ", "Alice Liddell", false},
		{"CR LF", "Alice\r\nBcc: x", "", true},
		{"NUL", "Al\x00ice", "", true},
		{"C1 control", "Al\u0085ice", "", true},
		{"too long", strings.Repeat("あ", MaxNameLength+1), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Name(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadName) {
					t.Fatalf("Name(%q) = %q, %v; want ErrBadName", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Name(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestUsername(t *testing.T) {
	tests := []struct {
		name, in, want, key string
		wantErr             bool
	}{
		{"plain", "front01", "front01", "front01", false},
		{"case kept, key folded", "Front01", "Front01", "front01", false},
		{"full-width", "ＦＲＯＮＴ０１", "FRONT01", "front01", false},
		{"trimmed", "  H-1234 ", "H-1234", "h-1234", false},
		{"Japanese", "フロント", "フロント", "フロント", false},
		{"half-width katakana folded", "ﾌﾛﾝﾄ", "フロント", "フロント", false},
		{"empty", "  ", "", "", true},
		{"inner space", "front 01", "", "", true},
		{"control", "front\r\n01", "", "", true},
		{"too long", strings.Repeat("a", MaxUsernameLength+1), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Username(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadUsername) {
					t.Fatalf("Username(%q) = %q, %v; want ErrBadUsername", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want || UsernameKey(tt.in) != tt.key {
				t.Fatalf("Username(%q) = %q, %v, key %q; want %q, key %q", tt.in, got, err, UsernameKey(tt.in), tt.want, tt.key)
			}
		})
	}
}
