package legacy

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The builders below write a hash in each format from a password and a
// salt, the way the old product did.

func buildArgon2id(password string, salt []byte, time, memory uint32, threads uint8, keyLen uint32) string {
	digest := argon2.IDKey([]byte(password), salt, time, memory, threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		memory, time, threads, b64.EncodeToString(salt), b64.EncodeToString(digest))
}

func buildPBKDF2(t *testing.T, password string, salt []byte, iter, keyLen int) string {
	t.Helper()
	digest, err := pbkdf2.Key(sha256.New, password, salt, iter, keyLen)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$pbkdf2-sha256$i=%d,l=%d$%s$%s", iter, keyLen, b64.EncodeToString(salt), b64.EncodeToString(digest))
}

// buildPasslib writes passlib's pbkdf2_sha256: a bare iteration count and
// "adapted base64" ('.' for '+', no padding).
func buildPasslib(t *testing.T, password string, salt []byte, iter int) string {
	t.Helper()
	digest, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	ab64 := func(b []byte) string {
		return strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(b), "+", ".")
	}
	return fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", iter, ab64(salt), ab64(digest))
}

func buildDjango(t *testing.T, password, salt string, iter int) string {
	t.Helper()
	digest, err := pbkdf2.Key(sha256.New, password, []byte(salt), iter, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iter, salt, base64.StdEncoding.EncodeToString(digest))
}

func buildSSHA256(password string, salt []byte) string {
	digest := sha256.Sum256(append([]byte(password), salt...))
	return "{SSHA256}" + base64.StdEncoding.EncodeToString(append(digest[:], salt...))
}

func buildSaltedSHA256(password, salt string) string {
	digest := sha256.Sum256([]byte(salt + password))
	return "sha256$" + salt + "$" + hex.EncodeToString(digest[:])
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func buildBcrypt(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// checkHash checks that Detect gives format and that Verify accepts
// password and refuses each of wrong.
func checkHash(t *testing.T, hash string, format Format, password string, wrong ...string) {
	t.Helper()
	got, err := Detect(hash)
	if err != nil || got != format {
		t.Fatalf("Detect(%q) = %q, %v; want %q", hash, got, err, format)
	}
	if ok, err := Verify(hash, password); err != nil || !ok {
		t.Errorf("Verify(%q, %q) = %v, %v; want true", hash, password, ok, err)
	}
	for _, w := range wrong {
		if ok, err := Verify(hash, w); err != nil || ok {
			t.Errorf("Verify(%q, %q) = %v, %v; want false", hash, w, ok, err)
		}
	}
}

// TestRoundTrip hashes a password with the real algorithm and a random
// salt in each format and variant, then detects and verifies it.
func TestRoundTrip(t *testing.T) {
	const password = "ﬁne Pässwörd 1!" // starts with the ligature U+FB01
	wrong := []string{
		"",
		"fine Pässwörd 1!", // the NFKC form: Verify must not normalise
		"ﬁne Pässwörd 1! ",
		"ﬁne Pässwörd 1",
	}
	for _, tc := range []struct {
		name   string
		build  func(t *testing.T) string
		format Format
	}{
		{"bcrypt 2a", func(t *testing.T) string { return buildBcrypt(t, password) }, FormatBcrypt},
		{"bcrypt 2b", func(t *testing.T) string {
			return "$2b$" + strings.TrimPrefix(buildBcrypt(t, password), "$2a$")
		}, FormatBcrypt},
		{"bcrypt 2y", func(t *testing.T) string {
			return "$2y$" + strings.TrimPrefix(buildBcrypt(t, password), "$2a$")
		}, FormatBcrypt},
		{"argon2id", func(t *testing.T) string {
			return buildArgon2id(password, randomBytes(t, 16), 2, 64, 2, 32)
		}, FormatArgon2id},
		{"argon2id 16-byte digest, no version, padded", func(t *testing.T) string {
			salt := randomBytes(t, 16)
			digest := argon2.IDKey([]byte(password), salt, 1, 64, 1, 16)
			return "$argon2id$m=64,t=1,p=1$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(digest)
		}, FormatArgon2id},
		{"pbkdf2 PHC", func(t *testing.T) string {
			return buildPBKDF2(t, password, randomBytes(t, 16), 1000, 32)
		}, FormatPBKDF2},
		{"pbkdf2 PHC 64-byte digest, no l, padded", func(t *testing.T) string {
			salt := randomBytes(t, 16)
			digest, err := pbkdf2.Key(sha256.New, password, salt, 500, 64)
			if err != nil {
				t.Fatal(err)
			}
			return "$pbkdf2-sha256$i=500$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(digest)
		}, FormatPBKDF2},
		{"pbkdf2 passlib", func(t *testing.T) string {
			return buildPasslib(t, password, randomBytes(t, 16), 1000)
		}, FormatPBKDF2},
		{"django", func(t *testing.T) string {
			return buildDjango(t, password, hex.EncodeToString(randomBytes(t, 6)), 1000)
		}, FormatDjangoPBKDF2},
		{"ssha256", func(t *testing.T) string { return buildSSHA256(password, randomBytes(t, 8)) }, FormatSSHA256},
		{"ssha256 lower-case prefix, 1-byte salt", func(t *testing.T) string {
			return "{ssha256}" + strings.TrimPrefix(buildSSHA256(password, randomBytes(t, 1)), "{SSHA256}")
		}, FormatSSHA256},
		{"sha256-salted", func(t *testing.T) string {
			return buildSaltedSHA256(password, hex.EncodeToString(randomBytes(t, 8)))
		}, FormatSaltedSHA256},
		{"sha256-salted upper-case hex", func(t *testing.T) string {
			salt := hex.EncodeToString(randomBytes(t, 8))
			h := buildSaltedSHA256(password, salt)
			return "sha256$" + salt + "$" + strings.ToUpper(strings.TrimPrefix(h, "sha256$"+salt+"$"))
		}, FormatSaltedSHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkHash(t, tc.build(t), tc.format, password, wrong...)
		})
	}
}

// TestVectors pins each format to a literal computed outside this package:
// the PBKDF2 and SHA-256 ones with Python's hashlib, the bcrypt ones with
// libxcrypt's crypt(3), and the argon2id one once with argon2.IDKey. Each
// builder must reproduce its literal, so that a change to a format cannot
// pass by being wrong in both the builder and Verify.
func TestVectors(t *testing.T) {
	const password = "correct horse"
	fixedSalt := []byte("sekisho-salt-16b")
	for _, tc := range []struct {
		name   string
		build  func(t *testing.T) string // nil where the salt is random
		want   string
		format Format
	}{
		{
			name:   "bcrypt 2b",
			want:   "$2b$04$SekishoSaltSekishoSalenvoOzPdYHR7Zq8G8LGWjwy18LwL0f.y",
			format: FormatBcrypt,
		},
		{
			name:   "bcrypt 2a cost 5",
			want:   "$2a$05$SekishoSaltSekishoSaleyoG6OLvo5oEsYQ0eSGiPdQPUTIZeQN2",
			format: FormatBcrypt,
		},
		{
			name:   "bcrypt 2y",
			want:   "$2y$04$SekishoSaltSekishoSalenvoOzPdYHR7Zq8G8LGWjwy18LwL0f.y",
			format: FormatBcrypt,
		},
		{
			name:   "argon2id",
			build:  func(*testing.T) string { return buildArgon2id(password, fixedSalt, 1, 64, 1, 32) },
			want:   "$argon2id$v=19$m=64,t=1,p=1$c2VraXNoby1zYWx0LTE2Yg$S1DpFtG7s4QpwY+KZFV1fuwlUy0OiiepFDywYswjxfc",
			format: FormatArgon2id,
		},
		{
			name:   "pbkdf2 PHC",
			build:  func(t *testing.T) string { return buildPBKDF2(t, password, fixedSalt, 1000, 32) },
			want:   "$pbkdf2-sha256$i=1000,l=32$c2VraXNoby1zYWx0LTE2Yg$n2ovKbfw5g0hz6AZ/xXWxZ7jUnBpwfpX09wUoZPSUCM",
			format: FormatPBKDF2,
		},
		{
			name: "pbkdf2 passlib",
			build: func(t *testing.T) string {
				return buildPasslib(t, password, append([]byte{0xfb, 0xef, 1, 0}, "passlib-salt"...), 1000)
			},
			want:   "$pbkdf2-sha256$1000$..8BAHBhc3NsaWItc2FsdA$Cpkz9tLh65X1TNBZLX.HJmtyzkZSvSSSHn7AlXXCzaI",
			format: FormatPBKDF2,
		},
		{
			name:   "django",
			build:  func(t *testing.T) string { return buildDjango(t, password, "seasalt0123", 1000) },
			want:   "pbkdf2_sha256$1000$seasalt0123$OqbXxe6PGNMkBy92TzNh5t7W/wJBrykUau70A+QmPzA=",
			format: FormatDjangoPBKDF2,
		},
		{
			name:   "ssha256",
			build:  func(*testing.T) string { return buildSSHA256(password, []byte{1, 2, 3, 4, 5, 6, 7, 8}) },
			want:   "{SSHA256}CFsq5JPfiBQ0W3uR5Dnao+9mknEq9a739V+FPkJ6yjABAgMEBQYHCA==",
			format: FormatSSHA256,
		},
		{
			name:   "sha256-salted",
			build:  func(*testing.T) string { return buildSaltedSHA256(password, "pepperX9") },
			want:   "sha256$pepperX9$68c7984323264e6552624454d9078b0672e9ad08281146fd61c4424155cf7ef1",
			format: FormatSaltedSHA256,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.build != nil {
				if got := tc.build(t); got != tc.want {
					t.Errorf("builder gave\n%s\nwant\n%s", got, tc.want)
				}
			}
			checkHash(t, tc.want, tc.format, password, "correct horse ", "Correct horse")
		})
	}
}

func TestMalformed(t *testing.T) {
	const password = "correct horse"
	salt := []byte("sekisho-salt-16b")
	b64 := base64.RawStdEncoding.EncodeToString
	bcryptHash := "$2b$04$SekishoSaltSekishoSalenvoOzPdYHR7Zq8G8LGWjwy18LwL0f.y"
	argonSalt := b64(salt)
	argonDigest := b64(argon2.IDKey([]byte(password), salt, 1, 64, 1, 32))
	argon := func(params string) string { return "$argon2id$v=19$" + params + "$" + argonSalt + "$" + argonDigest }
	pbkdf2Hash := buildPBKDF2(t, password, salt, 1000, 32)
	django := buildDjango(t, password, "seasalt0123", 1000)
	djangoDigest := django[strings.LastIndexByte(django, '$')+1:]

	for _, tc := range []struct {
		name, hash string
	}{
		{"empty", ""},
		{"md5 django style", "md5$abc$0123456789abcdef0123456789abcdef"},
		{"md5 crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX."},
		{"sha512 crypt", "$6$saltsalt$abc"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + argonSalt + "$" + argonDigest},
		{"bare word", "hunter2"},
		{"leading space", " " + bcryptHash},
		{"trailing newline", bcryptHash + "\n"},

		{"bcrypt truncated", bcryptHash[:59]},
		{"bcrypt too long", bcryptHash + "x"},
		{"bcrypt bad character", bcryptHash[:40] + "!" + bcryptHash[41:]},
		{"bcrypt cost 3", "$2b$03$" + bcryptHash[7:]},
		{"bcrypt cost 17", "$2b$17$" + bcryptHash[7:]},
		{"bcrypt cost 31", "$2b$31$" + bcryptHash[7:]},
		{"bcrypt cost not digits", "$2b$+4$" + bcryptHash[7:]},
		{"bcrypt 2x", "$2x$04$" + bcryptHash[7:]},

		{"argon2id truncated digest", argon("m=64,t=1,p=1")[:len(argon("m=64,t=1,p=1"))-30]},
		{"argon2id digest too long", argon("m=64,t=1,p=1") + argonDigest + argonDigest},
		{"argon2id bad base64 salt", "$argon2id$v=19$m=64,t=1,p=1$c2Vr!XNoby1zYWx0LTE2Yg$" + argonDigest},
		{"argon2id empty salt", "$argon2id$v=19$m=64,t=1,p=1$$" + argonDigest},
		{"argon2id version 16", "$argon2id$v=16$m=64,t=1,p=1$" + argonSalt + "$" + argonDigest},
		{"argon2id m above 1 GiB", argon("m=1048577,t=1,p=1")},
		{"argon2id m huge", argon("m=99999999999,t=1,p=1")},
		{"argon2id m below 8p", argon("m=15,t=1,p=2")},
		{"argon2id t=0", argon("m=64,t=0,p=1")},
		{"argon2id t=17", argon("m=64,t=17,p=1")},
		{"argon2id p=0", argon("m=64,t=1,p=0")},
		{"argon2id p=17", argon("m=1024,t=1,p=17")},
		{"argon2id p negative", argon("m=64,t=1,p=-1")},
		{"argon2id missing p", argon("m=64,t=1")},
		{"argon2id p twice", argon("m=64,t=1,p=1,p=1")},
		{"argon2id unknown parameter", argon("m=64,t=1,p=1,data=abc")},
		{"argon2id missing digest", "$argon2id$v=19$m=64,t=1,p=1$" + argonSalt},

		{"pbkdf2 zero iterations", strings.Replace(pbkdf2Hash, "i=1000", "i=0", 1)},
		{"pbkdf2 huge iterations", strings.Replace(pbkdf2Hash, "i=1000", "i=10000001", 1)},
		{"pbkdf2 missing i", strings.Replace(pbkdf2Hash, "i=1000,", "", 1)},
		{"pbkdf2 l mismatch", strings.Replace(pbkdf2Hash, "l=32", "l=31", 1)},
		{"pbkdf2 l=0", strings.Replace(pbkdf2Hash, "l=32", "l=0", 1)},
		{"pbkdf2 truncated digest", pbkdf2Hash[:len(pbkdf2Hash)-30]},
		{"pbkdf2 bad base64", pbkdf2Hash[:len(pbkdf2Hash)-3] + "*AB"},
		{"passlib zero iterations", "$pbkdf2-sha256$0$" + b64(salt) + "$" + b64(salt) + b64(salt)},
		{"passlib huge iterations", "$pbkdf2-sha256$99999999999999999999$" + b64(salt) + "$" + b64(salt) + b64(salt)},

		{"django zero iterations", strings.Replace(django, "$1000$", "$0$", 1)},
		{"django huge iterations", strings.Replace(django, "$1000$", "$20000000$", 1)},
		{"django negative iterations", strings.Replace(django, "$1000$", "$-1$", 1)},
		{"django empty salt", "pbkdf2_sha256$1000$$" + djangoDigest},
		{"django unpadded digest", strings.TrimSuffix(django, "=")},
		{"django truncated digest", django[:len(django)-8]},
		{"django bad base64", strings.Replace(django, "OqbX", "Oq!X", 1)},
		{"django extra field", django + "$x"},

		{"ssha256 no salt", "{SSHA256}" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
		{"ssha256 truncated", "{SSHA256}" + base64.StdEncoding.EncodeToString(make([]byte, 20))},
		{"ssha256 bad base64", "{SSHA256}CFsq5JPf!BQ0W3uR5Dnao+9mknEq9a739V+FPkJ6yjABAgMEBQYHCA=="},
		{"ssha256 empty", "{SSHA256}"},

		{"sha256-salted empty salt", "sha256$$68c7984323264e6552624454d9078b0672e9ad08281146fd61c4424155cf7ef1"},
		{"sha256-salted truncated digest", "sha256$pepperX9$68c7984323264e6552624454d9078b0672e9ad08281146fd61c4424155cf7e"},
		{"sha256-salted not hex", "sha256$pepperX9$68c7984323264e6552624454d9078b0672e9ad08281146fd61c4424155cf7eg1"},
		{"sha256-salted dollar in salt", "sha256$pep$perX9$68c7984323264e6552624454d9078b0672e9ad08281146fd61c4424155cf7ef1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Detect(tc.hash)
			if !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("Detect = %q, %v; want ErrUnknownFormat", f, err)
			}
			ok, err := Verify(tc.hash, password)
			if !errors.Is(err, ErrUnknownFormat) || ok {
				t.Errorf("Verify = %v, %v; want false, ErrUnknownFormat", ok, err)
			}
			// The reason may reach an import report: it must not quote the hash.
			if n := len(tc.hash); n > 24 && err != nil && strings.Contains(err.Error(), tc.hash[n-10:]) {
				t.Errorf("error %q quotes the hash", err)
			}
		})
	}
}

// TestBcryptLongPassword pins what Verify's doc comment says: bcrypt looks
// at the first 72 bytes only, as the old product's bcrypt did.
func TestBcryptLongPassword(t *testing.T) {
	long := strings.Repeat("p", 72)
	hash := buildBcrypt(t, long)
	checkHash(t, hash, FormatBcrypt, long+"ignored", long[:71])
}

// TestCostBounds: a hash at each cost bound is accepted; one step above
// it is refused at import (Detect, and so the Reader) and at sign-in
// (Verify), with ErrOverBounds so that callers can tell cost from a
// malformed hash. The digests are not real: neither Detect nor a refusing
// Verify computes one, and the accepted ones are not verified here
// (BenchmarkVerifyAtBounds measures that).
func TestCostBounds(t *testing.T) {
	b64 := base64.RawStdEncoding.EncodeToString
	salt, digest := b64([]byte("sekisho-salt-16b")), b64(make([]byte, 32))
	bcryptTail := "SekishoSaltSekishoSalenvoOzPdYHR7Zq8G8LGWjwy18LwL0f.y"
	bcryptCost := func(cost int) string { return fmt.Sprintf("$2b$%02d$%s", cost, bcryptTail) }
	argon := func(m, tm, p int) string {
		return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p, salt, digest)
	}
	pbkdf2Iter := func(iter int) string { return fmt.Sprintf("$pbkdf2-sha256$i=%d$%s$%s", iter, salt, digest) }
	passlibIter := func(iter int) string { return fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", iter, salt, digest) }
	djangoIter := func(iter int) string {
		return fmt.Sprintf("pbkdf2_sha256$%d$seasalt0123$%s", iter, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	}
	for _, tc := range []struct {
		name      string
		at, above string
	}{
		{"bcrypt cost", bcryptCost(MaxBcryptCost), bcryptCost(MaxBcryptCost + 1)},
		{"pbkdf2 iterations", pbkdf2Iter(MaxPBKDF2Iterations), pbkdf2Iter(MaxPBKDF2Iterations + 1)},
		{"passlib iterations", passlibIter(MaxPBKDF2Iterations), passlibIter(MaxPBKDF2Iterations + 1)},
		{"django iterations", djangoIter(MaxPBKDF2Iterations), djangoIter(MaxPBKDF2Iterations + 1)},
		{"argon2id memory", argon(MaxArgon2MemoryKiB, 1, 1), argon(MaxArgon2MemoryKiB+1, 1, 1)},
		{"argon2id memory times passes", argon(MaxArgon2Work/4, 4, 4), argon(MaxArgon2Work/4+1, 4, 4)},
		{"argon2id passes", argon(MaxArgon2Work/MaxArgon2Passes, MaxArgon2Passes, 1),
			argon(8, MaxArgon2Passes+1, 1)},
		{"argon2id lanes", argon(8*MaxArgon2Lanes, 1, MaxArgon2Lanes), argon(8*(MaxArgon2Lanes+1), 1, MaxArgon2Lanes+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Detect(tc.at); err != nil {
				t.Errorf("Detect(at the bound) = %v, want accepted", err)
			}
			if f, err := Detect(tc.above); !errors.Is(err, ErrUnknownFormat) || !errors.Is(err, ErrOverBounds) {
				t.Errorf("Detect(above the bound) = %q, %v; want ErrUnknownFormat and ErrOverBounds", f, err)
			}
			if ok, err := Verify(tc.above, "correct horse"); ok || !errors.Is(err, ErrOverBounds) {
				t.Errorf("Verify(above the bound) = %v, %v; want false, ErrOverBounds", ok, err)
			}
			input := fmt.Sprintf("{\"legacy_id\":\"u1\",\"email\":\"a@example.com\",\"password_hash\":%q}\n"+
				"{\"legacy_id\":\"u2\",\"email\":\"b@example.com\",\"password_hash\":%q}\n", tc.at, tc.above)
			_, got := readAll(t, newReader(t, input, "jsonl"))
			if len(got) != 2 || got[0] != (result{1, "u1", ""}) || got[1].LegacyID != "u2" || !strings.Contains(got[1].Reason, "above") {
				t.Errorf("import: %+v; want u1 accepted, u2 refused for its cost", got)
			}
		})
	}
	// A malformed hash is not over the bounds.
	if _, err := Detect(argon(64, 0, 1)); !errors.Is(err, ErrUnknownFormat) || errors.Is(err, ErrOverBounds) {
		t.Errorf("Detect(t=0) = %v, want ErrUnknownFormat only", err)
	}
}
