package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"crypto/sha256"
	xhkdf "golang.org/x/crypto/hkdf"
)

// testSecret is 32 bytes 0x00..0x1f.
var testSecretBytes = func() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

func mustParse(t *testing.T, s string) *Keys {
	t.Helper()
	k, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return k
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
	}{
		{"std", base64.StdEncoding.EncodeToString(testSecretBytes), ""},
		{"raw std", base64.RawStdEncoding.EncodeToString(testSecretBytes), ""},
		{"url", base64.URLEncoding.EncodeToString(append(testSecretBytes, 0xfb, 0xff)), ""},
		{"raw url", base64.RawURLEncoding.EncodeToString(append(testSecretBytes, 0xfb, 0xff)), ""},
		{"trailing newline", base64.StdEncoding.EncodeToString(testSecretBytes) + "\n", ""},
		{"too short", base64.StdEncoding.EncodeToString(testSecretBytes[:31]), "decodes to 31 bytes"},
		{"empty", "", "decodes to 0 bytes"},
		{"not base64", "this is not base64!!", "not valid base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestEncodingsAgree(t *testing.T) {
	std := mustParse(t, base64.StdEncoding.EncodeToString(testSecretBytes))
	rawURL := mustParse(t, base64.RawURLEncoding.EncodeToString(testSecretBytes))
	if std.OPCryptoKey() != rawURL.OPCryptoKey() || std.Hash(KindCode, "x") != rawURL.Hash(KindCode, "x") {
		t.Error("the same secret in two encodings derived different keys")
	}
}

// TestDerivation checks the keys against an independent HKDF implementation,
// so that a change of label or algorithm (which would orphan every stored
// hash and ciphertext) cannot pass unnoticed.
func TestDerivation(t *testing.T) {
	k := mustParse(t, base64.StdEncoding.EncodeToString(testSecretBytes))
	want := func(label string) []byte {
		b := make([]byte, 32)
		if _, err := io.ReadFull(xhkdf.New(sha256.New, testSecretBytes, nil, []byte(label)), b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	op := k.OPCryptoKey()
	if !bytes.Equal(op[:], want("sekisho/op-crypto")) {
		t.Error("OPCryptoKey differs from HKDF-SHA256(secret, info=sekisho/op-crypto)")
	}
	if !bytes.Equal(k.tokenHash, want("sekisho/token-hash")) {
		t.Error("token-hash key differs from HKDF-SHA256(secret, info=sekisho/token-hash)")
	}
	if bytes.Equal(op[:], k.tokenHash) {
		t.Error("two labels derived the same key")
	}
}

func TestHash(t *testing.T) {
	k := mustParse(t, base64.StdEncoding.EncodeToString(testSecretBytes))
	other := mustParse(t, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))

	h := k.Hash(KindRefresh, "token")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Errorf("Hash = %q, want 64 lower-case hex digits", h)
	}
	if k.Hash(KindRefresh, "token") != h {
		t.Error("Hash is not deterministic")
	}
	for name, got := range map[string]string{
		"other value":  k.Hash(KindRefresh, "token2"),
		"other kind":   k.Hash(KindCode, "token"),
		"other secret": other.Hash(KindRefresh, "token"),
		"shifted kind": k.Hash("refres", "htoken"),
	} {
		if got == h {
			t.Errorf("%s: hash collides", name)
		}
	}
}

// A successor is deterministic per secret, shaped like a random token,
// and tells nothing of the token it replaces without the secret.
func TestSuccessor(t *testing.T) {
	k := mustParse(t, base64.StdEncoding.EncodeToString(testSecretBytes))
	other := mustParse(t, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	s := k.Successor("token")
	if len(s) != len(RandomToken(32)) || !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(s) {
		t.Errorf("Successor = %q, want the form of RandomToken(32)", s)
	}
	if k.Successor("token") != s {
		t.Error("Successor is not deterministic")
	}
	for name, got := range map[string]string{
		"other token":  k.Successor("token2"),
		"other secret": other.Successor("token"),
		"its own":      k.Successor(s),
		"a hash":       k.Hash(KindRefresh, "token"),
	} {
		if got == s {
			t.Errorf("%s: successor collides", name)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k := mustParse(t, base64.StdEncoding.EncodeToString(testSecretBytes))
	other := mustParse(t, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	plain := []byte("-----BEGIN PRIVATE KEY-----")

	type pair struct {
		seal func([]byte) ([]byte, error)
		open func([]byte) ([]byte, error)
	}
	pairs := map[string]pair{
		"key":    {k.SealKey, k.OpenKey},
		"outbox": {k.SealOutbox, k.OpenOutbox},
		"totp":   {k.SealTOTP, k.OpenTOTP},
	}
	wrongOpen := map[string][]func([]byte) ([]byte, error){
		"key":    {k.OpenOutbox, other.OpenKey},
		"outbox": {k.OpenKey, other.OpenOutbox},
		"totp":   {k.OpenOutbox, other.OpenTOTP},
	}
	for name, p := range pairs {
		t.Run(name, func(t *testing.T) {
			ct, err := p.seal(plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.open(ct)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("open(seal(x)) = %q, %v; want %q", got, err, plain)
			}
			ct2, _ := p.seal(plain)
			if bytes.Equal(ct, ct2) {
				t.Error("two seals of the same plaintext are equal: nonce not random")
			}
			if bytes.Contains(ct, plain) {
				t.Error("ciphertext contains the plaintext")
			}

			tampered := bytes.Clone(ct)
			tampered[len(tampered)-1] ^= 1
			bad := map[string]func() ([]byte, error){
				"tampered":  func() ([]byte, error) { return p.open(tampered) },
				"truncated": func() ([]byte, error) { return p.open(ct[:10]) },
				"empty":     func() ([]byte, error) { return p.open(nil) },
				"purpose":   func() ([]byte, error) { return wrongOpen[name][0](ct) },
				"secret":    func() ([]byte, error) { return wrongOpen[name][1](ct) },
			}
			for what, f := range bad {
				if _, err := f(); !errors.Is(err, ErrDecrypt) {
					t.Errorf("%s: err = %v, want ErrDecrypt", what, err)
				}
			}
		})
	}
}

func TestRandomToken(t *testing.T) {
	a, b := RandomToken(32), RandomToken(32)
	if len(a) != 43 {
		t.Errorf("len(RandomToken(32)) = %d, want 43", len(a))
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(a) {
		t.Errorf("RandomToken = %q, want base64url without padding", a)
	}
	if a == b {
		t.Error("two random tokens are equal")
	}
}

func TestRandomDigits(t *testing.T) {
	if got := RandomDigits(0); got != "" {
		t.Errorf("RandomDigits(0) = %q", got)
	}
	code := RandomDigits(6)
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(code) {
		t.Errorf("RandomDigits(6) = %q, want 6 digits", code)
	}

	// Each digit should appear about n/10 times; the bound is more than six
	// standard deviations wide, so a correct implementation never fails.
	const n = 100_000
	var counts [10]int
	for _, c := range RandomDigits(n) {
		counts[c-'0']++
	}
	for d, c := range counts {
		if c < n/10-600 || c > n/10+600 {
			t.Errorf("digit %d appeared %d times in %d, want about %d", d, c, n, n/10)
		}
	}
}

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"abc", "abc", true},
		{"", "", true},
		{"abc", "abd", false},
		{"abc", "abcd", false},
		{"abc", "", false},
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
