package password

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// v builds an expected violation.
func v(key string, args ...any) Violation { return Violation{Key: key, Args: args} }

// keys returns the keys of vs, for cases that need not check arguments.
func keys(vs []Violation) []string {
	var ks []string
	for _, x := range vs {
		ks = append(ks, x.Key)
	}
	return ks
}

func TestCheckDefault(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		name string
		pw   string
		want []Violation
	}{
		{"acceptable", "Tr0ub4dor&3", nil},
		{"exactly 8", "Tr0ub4d&", nil},
		{"too short", "Tr0&b4d", []Violation{v(KeyTooShort, 8)}},
		{"no upper", "tr0ub4dor&3", []Violation{v(KeyNeedUpper)}},
		{"no lower", "TR0UB4DOR&3", []Violation{v(KeyNeedLower)}},
		{"no digit", "Troubador&x", []Violation{v(KeyNeedDigit)}},
		{"no symbol", "Tr0ub4dor33", []Violation{v(KeyNeedSymbol)}},
		{"space is not a symbol", "Tr0ub4dor 3", []Violation{v(KeyNeedSymbol)}},
		{"non-ASCII symbol", "Tr0ub4dor€3", nil},
		{"Japanese punctuation is a symbol", "Tr0ub4dor、3", nil},
		{"Cyrillic letters have case", "Пароль-2024", nil},
		{"kana have no case", "パスワードは1!です", []Violation{v(KeyNeedUpper), v(KeyNeedLower)}},
		{"empty", "", []Violation{
			v(KeyTooShort, 8), v(KeyNeedUpper), v(KeyNeedLower), v(KeyNeedDigit), v(KeyNeedSymbol),
		}},
		{"several at once", "abc", []Violation{
			v(KeyTooShort, 8), v(KeyNeedUpper), v(KeyNeedDigit), v(KeyNeedSymbol),
		}},
		{"common in other case", "P@ssw0rd", []Violation{v(KeyCommon)}},
		{"common far down the list", "Pa$$w0rd", []Violation{v(KeyCommon)}},
		{"common, no digit or symbol", "Password", []Violation{v(KeyNeedDigit), v(KeyNeedSymbol), v(KeyCommon)}},
		{"full-width normalised", "Ｔｒ０ｕｂ４ｄｏｒ＆３", nil},
		{"full-width common", "Ｐ＠ｓｓｗ０ｒｄ", []Violation{v(KeyCommon)}},
		{"64 characters", "Aa1!" + strings.Repeat("x", 60), nil},
		{"128 characters", "Aa1!" + strings.Repeat("x", 124), nil},
		{"129 characters", "Aa1!" + strings.Repeat("x", 125), []Violation{v(KeyTooLong, 128)}},
		{"129 lower-case characters, only too long", strings.Repeat("x", 129), []Violation{v(KeyTooLong, 128)}},
		{"over 1 KiB", "Aa1!" + strings.Repeat("€", 400), []Violation{v(KeyTooLong, 128)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Check(tc.pw, Subject{})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check(%q) mismatch (-want +got):\n%s", tc.pw, diff)
			}
		})
	}
}

func TestCheckPresets(t *testing.T) {
	def, nist := DefaultPolicy(), NISTPolicy()
	for _, tc := range []struct {
		name              string
		pw                string
		wantDef, wantNIST []Violation
	}{
		{"complex but short", "Tr0ub4dor&3", nil, []Violation{v(KeyTooShort, 15)}},
		{"lower-case passphrase", "glacierplumkites", []Violation{v(KeyNeedUpper), v(KeyNeedDigit), v(KeyNeedSymbol)}, nil},
		{"passphrase with spaces", "glacier plum kites", []Violation{v(KeyNeedUpper), v(KeyNeedDigit), v(KeyNeedSymbol)}, nil},
		{"common", "password", []Violation{v(KeyNeedUpper), v(KeyNeedDigit), v(KeyNeedSymbol), v(KeyCommon)},
			[]Violation{v(KeyTooShort, 15), v(KeyCommon)}},
		{"long and complex", "Glacier-Plum-Kites-7", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.wantDef, def.Check(tc.pw, Subject{})); diff != "" {
				t.Errorf("default Check(%q) mismatch (-want +got):\n%s", tc.pw, diff)
			}
			if diff := cmp.Diff(tc.wantNIST, nist.Check(tc.pw, Subject{})); diff != "" {
				t.Errorf("nist Check(%q) mismatch (-want +got):\n%s", tc.pw, diff)
			}
		})
	}
}

func TestCheckMaxLength(t *testing.T) {
	p := DefaultPolicy()
	p.MaxLength = 64
	for _, tc := range []struct {
		name string
		pw   string
		want []Violation
	}{
		{"64", "Aa1!" + strings.Repeat("x", 60), nil},
		{"65", "Aa1!" + strings.Repeat("x", 61), []Violation{v(KeyTooLong, 64)}},
		{"65, other rules still checked", strings.Repeat("x", 65), []Violation{
			v(KeyTooLong, 64), v(KeyNeedUpper), v(KeyNeedDigit), v(KeyNeedSymbol),
		}},
		{"129, refused by Normalize", strings.Repeat("x", 129), []Violation{v(KeyTooLong, 64)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, p.Check(tc.pw, Subject{})); diff != "" {
				t.Errorf("Check mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckIdentifier(t *testing.T) {
	p := Policy{MinLength: 1, MaxLength: MaxRunes, ForbidIdentifier: true}
	alice := Subject{Email: "Alice.Smith@Example.com", LoginID: "asmith"}
	for _, tc := range []struct {
		name string
		pw   string
		s    Subject
		want bool // KeyContainsIdentifier reported
	}{
		{"email, other case", "alice.smith@EXAMPLE.COM", alice, true},
		{"contains email", "x-Alice.Smith@example.com-1", alice, true},
		{"full-width email", "ＡＬＩＣＥ．ＳＭＩＴＨ＠ＥＸＡＭＰＬＥ．ＣＯＭ", alice, true},
		{"contains local part", "9-ALICE.SMITH-9", alice, true},
		{"login id, other case", "ASmith", alice, true},
		{"contains login id", "xx-aSMITH-99", alice, true},
		{"unrelated", "Tr0ub4dor&3", alice, false},
		{"part of login id only", "smith-and-wesson", alice, false},
		{"short login id, equal", "AL", Subject{LoginID: "al"}, true},
		{"short login id, contained", "Albatross", Subject{LoginID: "al"}, false},
		{"short local part, equal", "BOB", Subject{Email: "bob@example.com"}, true},
		{"short local part, contained", "bobsleigh", Subject{Email: "bob@example.com"}, false},
		{"case folding", "STRAßE-1!", Subject{LoginID: "strasse"}, true},
		{"identifier with spaces around", "asmith", Subject{LoginID: " asmith "}, true},
		{"no identifiers", "anything", Subject{}, false},
		{"rule off", "asmith", alice, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := p
			if tc.name == "rule off" {
				p.ForbidIdentifier = false
			}
			var want []Violation
			if tc.want {
				want = []Violation{v(KeyContainsIdentifier)}
			}
			if diff := cmp.Diff(want, p.Check(tc.pw, tc.s)); diff != "" {
				t.Errorf("Check(%q, %+v) mismatch (-want +got):\n%s", tc.pw, tc.s, diff)
			}
		})
	}
}

func TestCheckCurrent(t *testing.T) {
	const current = "Tr0ub4dor&3"
	var got []string
	s := Subject{IsCurrent: func(pw string) bool {
		got = append(got, pw)
		return pw == current
	}}
	for _, tc := range []struct {
		name       string
		policy     Policy
		pw         string
		want       []string
		wantCalled []string
	}{
		{"same", DefaultPolicy(), current, []string{KeySameAsCurrent}, []string{current}},
		{"same after NFKC", DefaultPolicy(), "Ｔｒ０ｕｂ４ｄｏｒ＆３", []string{KeySameAsCurrent}, []string{current}},
		{"different", DefaultPolicy(), "Tr0ub4dor&4", nil, []string{"Tr0ub4dor&4"}},
		{"listed with the others", DefaultPolicy(), "tr0ub4dor", []string{KeyNeedUpper, KeyNeedSymbol}, []string{"tr0ub4dor"}},
		{"nist preset", NISTPolicy(), current, []string{KeyTooShort, KeySameAsCurrent}, []string{current}},
		{"not asked when off", Policy{MinLength: 1, MaxLength: 64}, current, nil, nil},
		{"not asked when too long", DefaultPolicy(), strings.Repeat("x", 200), []string{KeyTooLong}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			if diff := cmp.Diff(tc.want, keys(tc.policy.Check(tc.pw, s))); diff != "" {
				t.Errorf("Check keys mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCalled, got); diff != "" {
				t.Errorf("IsCurrent calls mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// A nil IsCurrent skips the rule.
	if vs := DefaultPolicy().Check(current, Subject{}); vs != nil {
		t.Errorf("Check with nil IsCurrent = %v, want nil", vs)
	}
}

func TestRules(t *testing.T) {
	wantDef := []Rule{
		v(KeyTooShort, 8), v(KeyTooLong, 128), v(KeyNeedUpper), v(KeyNeedLower), v(KeyNeedDigit),
		v(KeyNeedSymbol), v(KeyContainsIdentifier), v(KeyCommon), v(KeySameAsCurrent),
	}
	if diff := cmp.Diff(wantDef, DefaultPolicy().Rules()); diff != "" {
		t.Errorf("DefaultPolicy().Rules() mismatch (-want +got):\n%s", diff)
	}
	wantNIST := []Rule{v(KeyTooShort, 15), v(KeyTooLong, 128), v(KeyContainsIdentifier), v(KeyCommon), v(KeySameAsCurrent)}
	if diff := cmp.Diff(wantNIST, NISTPolicy().Rules()); diff != "" {
		t.Errorf("NISTPolicy().Rules() mismatch (-want +got):\n%s", diff)
	}

	// Check lists broken rules in the order of Rules.
	all := DefaultPolicy().Check("asmith", Subject{LoginID: "asmith", IsCurrent: func(string) bool { return true }})
	wantAll := []string{KeyTooShort, KeyNeedUpper, KeyNeedDigit, KeyNeedSymbol, KeyContainsIdentifier, KeySameAsCurrent}
	if diff := cmp.Diff(wantAll, keys(all)); diff != "" {
		t.Errorf("Check order mismatch (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*Policy)
		want   []string // fields reported, in order
	}{
		{"default", func(*Policy) {}, nil},
		{"min 1", func(p *Policy) { p.MinLength = 1 }, nil},
		{"max 64", func(p *Policy) { p.MaxLength = 64 }, nil},
		{"min 0", func(p *Policy) { p.MinLength = 0 }, []string{"min_length"}},
		{"min negative", func(p *Policy) { p.MinLength = -1 }, []string{"min_length"}},
		{"max 63", func(p *Policy) { p.MaxLength = 63 }, []string{"max_length"}},
		{"max 129", func(p *Policy) { p.MaxLength = 129 }, []string{"max_length"}},
		{"min over max", func(p *Policy) { p.MinLength, p.MaxLength = 100, 80 }, []string{"min_length"}},
		{"zero value", func(p *Policy) { *p = Policy{} }, []string{"min_length", "max_length"}},
		{"all at once", func(p *Policy) { p.MinLength, p.MaxLength = 70, 10 }, []string{"max_length", "min_length"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			tc.modify(&p)
			err := p.Validate()
			var got []string
			if err != nil {
				if !errors.Is(err, ErrInvalidPolicy) {
					t.Errorf("Validate() = %v, want an error wrapping ErrInvalidPolicy", err)
				}
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("Validate() joined %T %v, want *FieldError", e, e)
					}
					got = append(got, fe.Field)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() = %v; fields mismatch (-want +got):\n%s", err, diff)
			}
		})
	}
	if err := NISTPolicy().Validate(); err != nil {
		t.Errorf("NISTPolicy().Validate() = %v", err)
	}
}

func TestPolicyPreset(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Policy
	}{
		{"default", DefaultPolicy()},
		{"nist", NISTPolicy()},
	} {
		got, err := PolicyPreset(tc.name)
		if err != nil {
			t.Fatalf("PolicyPreset(%q): %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("PolicyPreset(%q) mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, name := range []string{"", "NIST", "strict"} {
		_, err := PolicyPreset(name)
		if !errors.Is(err, ErrUnknownPreset) || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("PolicyPreset(%q) = %v, want ErrUnknownPreset naming it", name, err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	p := DefaultPolicy()
	s := Subject{Email: "alice.smith@example.com", LoginID: "asmith"}
	commonSet()
	for b.Loop() {
		p.Check("Tr0ub4dor&3", s)
	}
}

// TestCheckCores: the default preset refuses a common password or a
// context word in disguise (case, substitutions, digits and symbols at
// the ends) and still accepts ordinary strong passwords, including those
// the tests and `serve --dev` use.
func TestCheckCores(t *testing.T) {
	p := DefaultPolicy()
	p.ServiceNames = []string{"Old Shop", "旧ショップ"}
	kei := Subject{Email: "kei.watanuki@example.com", Name: "Kei Watanuki", OrganizationName: "Acme Hotels", OrganizationCode: "KTHQ"}
	for _, tc := range []struct {
		name string
		pw   string
		s    Subject
		want []string
	}{
		// Common passwords dressed up for the composition rules.
		{"Password1!", "Password1!", Subject{}, []string{KeyCommon}},
		{"Qwerty123!", "Qwerty123!", Subject{}, []string{KeyCommon}},
		{"Welcome1!", "Welcome1!", Subject{}, []string{KeyCommon}},
		{"Iloveyou1!", "Iloveyou1!", Subject{}, []string{KeyCommon}},
		{"substitutions and a year", "P@ssw0rd2024!", Subject{}, []string{KeyCommon}},
		{"substitutions everywhere", "P@55W0RD#1", Subject{}, []string{KeyNeedLower, KeyCommon}},
		{"leading symbol stands for a letter", "@Dmin2024!", Subject{}, []string{KeyCommon}},
		{"leading digit stands for a letter", "1Loveyou#2", Subject{}, []string{KeyCommon}},
		{"1 for l", "WE1COME-99", Subject{}, []string{KeyNeedLower, KeyCommon}},
		{"1 for i and for l", "1L0veY0u-2025", Subject{}, []string{KeyCommon}},
		{"! inside stands for i", "Pr!ncess-77", Subject{}, []string{KeyCommon}},
		{"digits and symbols around", "!!2024Sunshine2024!!", Subject{}, []string{KeyCommon}},
		{"full-width", "Ｐ＠ｓｓｗ０ｒｄ２０２４！", Subject{}, []string{KeyCommon}},
		// The service's names.
		{"product name", "Sekisho2024!", Subject{}, []string{KeyCommon}},
		{"product name in disguise", "$ek1sh0-99", Subject{}, []string{KeyNeedUpper, KeyCommon}},
		{"legacy product name", "OldShop#2024", Subject{}, []string{KeyCommon}},
		{"legacy product name with its space", "Old Shop 2024!", Subject{}, []string{KeyCommon}},
		{"legacy product name in Japanese", "旧ショップ2024!", Subject{}, []string{KeyNeedUpper, KeyNeedLower, KeyCommon}},
		// The account's context words.
		{"name plus digits", "Watanuki1234!", kei, []string{KeyContainsIdentifier}},
		{"whole name", "KeiWatanuki-77", kei, []string{KeyContainsIdentifier}},
		{"local part in disguise", "K31.W4t4nuk1#9", kei, []string{KeyContainsIdentifier}},
		{"organization name", "Acme-Hotels-1", kei, []string{KeyContainsIdentifier}},
		{"organization code", "Kt-Hq-2024!", kei, []string{KeyContainsIdentifier}},
		{"login id", "Jdoe1987!!", Subject{LoginID: "JDoe"}, []string{KeyContainsIdentifier}},
		{"the user's name is common too", "Michael1985!", Subject{Name: "Michael Brown"}, []string{KeyContainsIdentifier, KeyCommon}},
		// Still acceptable.
		{"test user's password", "Correct-horse-9!", kei, nil},
		{"other test password", "Other-battery-7?", kei, nil},
		// (For the demo account itself, demo@example.com, the local part
		// "demo" is in it: refused by the older rule, but it is created
		// with it, not checked.)
		{"dev demo password", "Demo-password-1!", Subject{Email: "someone@example.com", Name: "Demo User"}, nil},
		{"reset test password", "New-horse-42!x", kei, nil},
		{"classic", "Tr0ub4dor&3", kei, nil},
		{"passphrase", "Glacier-Plum-Kites-7", kei, nil},
		{"a common word inside a longer core", "Sunshine-Rocket-9!", Subject{}, nil},
		{"a core under 4 letters is not checked", "Dog#58213!", Subject{}, nil},
		{"a listed word inside a longer core", "Cat!84712x", Subject{}, nil},
		{"short name is not a context word", "Kei-Mountain-8!", Subject{Name: "Kei"}, nil},
		{"name inside a longer core", "Watanukiberry-5!", kei, nil},
		{"many 1s: not every mix is tried", "Q1111111x!", Subject{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, keys(p.Check(tc.pw, tc.s))); diff != "" {
				t.Errorf("Check(%q) mismatch (-want +got):\n%s", tc.pw, diff)
			}
		})
	}
	// Off when the rules are off.
	off := p
	off.Blocklist, off.ForbidIdentifier = false, false
	for _, pw := range []string{"P@ssw0rd2024!", "Sekisho2024!", "Watanuki1234!"} {
		if vs := off.Check(pw, kei); vs != nil {
			t.Errorf("Check(%q) with blocklist and forbid_identifier off = %v", pw, vs)
		}
	}
}

func TestCores(t *testing.T) {
	for _, tc := range []struct {
		folded string
		want   []string
	}{
		{"password1!", []string{"password", "password1", "passwordi", "passwordl", "password1!", "passwordii", "passwordli"}},
		{"p@ssw0rd2024!", []string{"p@ssw0rd", "password"}},
		{"@dmin", []string{"dmin", "@dmin", "admin"}},
		{"2024", nil},
		{"ab1", nil},
		{"x-y", nil},
	} {
		if diff := cmp.Diff(tc.want, cores(tc.folded)); diff != "" {
			t.Errorf("cores(%q) mismatch (-want +got):\n%s", tc.folded, diff)
		}
	}
	// Many 1s: all i and all l, not every mix.
	if got := len(unleet([]rune("a11111111b"))); got != 2 {
		t.Errorf("unleet with 8 ambiguous characters gave %d variants, want 2", got)
	}
	if got := len(unleet([]rune("a111b"))); got != 8 {
		t.Errorf("unleet with 3 ambiguous characters gave %d variants, want 8", got)
	}
}
