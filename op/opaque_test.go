package op

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// The opaque codec and the library's crypto read each other's tokens,
// over random ids and subjects (colons and non-ASCII included), and
// write the same header members.
func TestOpaqueCodecMatchesLibrary(t *testing.T) {
	var key [32]byte
	rand.Read(key[:])
	ours, err := newOpaqueCodec(key)
	if err != nil {
		t.Fatal(err)
	}
	lib := zop.NewAES256GCMCrypto(key, opaqueKeyID)
	alphabet := []rune("abcXYZ019-_:@. 認証ü")
	for i := range 300 {
		var b strings.Builder
		for range i % 97 {
			var r [1]byte
			rand.Read(r[:])
			b.WriteRune(alphabet[int(r[0])%len(alphabet)])
		}
		plain := b.String()
		sealed, err := ours.seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := lib.Decrypt(sealed); err != nil || got != plain {
			t.Fatalf("library Decrypt(ours(%q)) = %q, %v", plain, got, err)
		}
		theirs, err := lib.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ours.open(theirs); err != nil || got != plain {
			t.Fatalf("open(library(%q)) = %q, %v", plain, got, err)
		}
		if i == 0 {
			if a, b := headerMembers(t, sealed), headerMembers(t, theirs); !slices.Equal(a, b) {
				t.Errorf("header members: ours %v, library %v", a, b)
			}
		}
	}
}

func headerMembers(t *testing.T, token string) []string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "A256GCMKW" || h["enc"] != "A256GCM" || h["kid"] != opaqueKeyID {
		t.Errorf("header %s", raw)
	}
	return slices.Sorted(maps.Keys(h))
}

// Anything but a token sealed under the same key is refused: another
// key, a change in any of the five parts, a header that asks for another
// algorithm or compression, a JWT, and malformed text.
func TestOpaqueCodecRefuses(t *testing.T) {
	var key, other [32]byte
	rand.Read(key[:])
	rand.Read(other[:])
	c, _ := newOpaqueCodec(key)
	token, err := c.seal("2f1c2a8e-0c1e-4c55-9f1a-3d2b1b0e9a11:svc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.open(token); err != nil {
		t.Fatalf("open(own token): %v", err)
	}
	parts := strings.Split(token, ".")
	flip := func(i int) string {
		p := slices.Clone(parts)
		b := []byte(p[i])
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		p[i] = string(b)
		return strings.Join(p, ".")
	}
	withHeader := func(h string) string {
		p := slices.Clone(parts)
		p[0] = base64.RawURLEncoding.EncodeToString([]byte(h))
		return strings.Join(p, ".")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	otherKey, _ := newOpaqueCodec(other)
	cases := map[string]struct {
		codec *opaqueCodec
		token string
	}{
		"another key":         {otherKey, token},
		"header changed":      {c, flip(0)},
		"wrapped key changed": {c, flip(1)},
		"iv changed":          {c, flip(2)},
		"ciphertext changed":  {c, flip(3)},
		"tag changed":         {c, flip(4)},
		"other alg":           {c, withHeader(strings.Replace(string(raw), "A256GCMKW", "dir", 1))},
		"compressed":          {c, withHeader(strings.Replace(string(raw), `"kid"`, `"zip":"DEF","kid"`, 1))},
		"critical members":    {c, withHeader(strings.Replace(string(raw), `"kid"`, `"crit":["exp"],"kid"`, 1))},
		"jwt":                 {c, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"},
		"six parts":           {c, token + ".AAAA"},
		"four parts":          {c, strings.Join(parts[:4], ".")},
		"empty":               {c, ""},
		"not base64":          {c, "!!.!!.!!.!!.!!"},
		"short tag":           {c, strings.Join(append(slices.Clone(parts[:4]), "AAAA"), ".")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got, err := tc.codec.open(tc.token); err == nil {
				t.Errorf("open = %q, want an error", got)
			}
		})
	}
}
