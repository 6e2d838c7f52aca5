package legacy

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Format names an imported password hash format.
type Format string

// The formats Detect recognises.
const (
	// FormatBcrypt is a modular crypt bcrypt hash, $2a$, $2b$ or $2y$.
	FormatBcrypt Format = "bcrypt"
	// FormatArgon2id is a PHC string:
	// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>.
	FormatArgon2id Format = "argon2id"
	// FormatPBKDF2 is PBKDF2-HMAC-SHA256 as a PHC string,
	// $pbkdf2-sha256$i=600000[,l=32]$<salt>$<hash>, or as passlib writes it,
	// $pbkdf2-sha256$29000$<salt>$<hash>.
	FormatPBKDF2 Format = "pbkdf2-sha256"
	// FormatDjangoPBKDF2 is Django's PBKDF2-HMAC-SHA256:
	// pbkdf2_sha256$<iterations>$<salt>$<base64 hash>.
	FormatDjangoPBKDF2 Format = "django-pbkdf2-sha256"
	// FormatSSHA256 is the LDAP salted SHA-256 scheme:
	// {SSHA256}base64(sha256(password+salt) || salt).
	FormatSSHA256 Format = "ssha256"
	// FormatSaltedSHA256 is sha256$<SALT>$<hex of sha256(SALT + password)>.
	FormatSaltedSHA256 Format = "sha256-salted"
)

var (
	// ErrUnknownFormat is returned, wrapped with the reason, for a hash
	// that is in none of the formats, or is in one of them but does not
	// parse or has parameters out of range.
	ErrUnknownFormat = errors.New("legacy: unknown password hash format")
	// ErrOverBounds is wrapped, beside ErrUnknownFormat, by the error for
	// a hash that parses but costs more to verify than the bounds allow
	// (MaxBcryptCost, MaxPBKDF2Iterations, MaxArgon2Work,
	// MaxArgon2Passes, MaxArgon2Lanes).
	ErrOverBounds = errors.New("legacy: password hash costs more than sekisho verifies")
)

// Bounds on the cost of an imported hash: what one sign-in can afford.
// Each maximum takes 0.17 to 0.36 s of one core of the 2-core reference
// machine (README, "Cost bounds of imported hashes";
// BenchmarkVerifyAtBounds), about the legacy.check_floor that a check is
// padded to, and each still accepts the defaults of the
// frameworks a legacy product is likely to have used (bcrypt 10 to 12,
// Django's 1,200,000 PBKDF2 iterations, argon2-cffi's 64 MiB × 3 and
// 100 MiB × 2, libsodium's 64 MiB × 2).
const (
	MaxBcryptCost       = 12
	MaxPBKDF2Iterations = 2_000_000
	// MaxArgon2MemoryKiB bounds the memory one argon2id verification
	// holds (128 MiB); the gate bounds how many run at once.
	MaxArgon2MemoryKiB = 128 << 10
	// MaxArgon2Work bounds argon2id's memory (KiB) times passes: 128 MiB
	// in two passes, 64 MiB in four. The time grows with it.
	MaxArgon2Work   = 256 << 10
	MaxArgon2Passes = 16
	MaxArgon2Lanes  = 16
)

// Lower bounds: digests so short that many wrong passwords would match are
// refused, and so are absurdly long ones.
const (
	minDigestBytes = 16
	maxDigestBytes = 64
)

// formatError is ErrUnknownFormat with the reason a hash was refused (and
// ErrOverBounds when it is its cost). The reason names the format and
// parameters, never salt or digest text, so it may be shown in an import
// report or a log line.
type formatError struct {
	reason     string
	overBounds bool
}

func (e *formatError) Error() string { return ErrUnknownFormat.Error() + ": " + e.reason }
func (e *formatError) Unwrap() []error {
	if e.overBounds {
		return []error{ErrUnknownFormat, ErrOverBounds}
	}
	return []error{ErrUnknownFormat}
}

func refuse(format string, args ...any) error {
	return &formatError{reason: fmt.Sprintf(format, args...)}
}

// tooCostly is refuse for a hash over the cost bounds.
func tooCostly(format string, args ...any) error {
	return &formatError{reason: fmt.Sprintf(format, args...), overBounds: true}
}

// Detect returns the format of an imported hash after checking that it
// parses completely: parameters in range, salt and digest decodable, digest
// of the expected length. Otherwise it returns an error wrapping
// ErrUnknownFormat with the reason; the empty string is such an error too
// (callers treat "no hash" separately).
//
// Detect refuses hashes that would be too costly to verify, with an error
// that also wraps ErrOverBounds: bcrypt with a cost above 12; PBKDF2 with
// more than 2,000,000 iterations; argon2id with more than 131,072 KiB
// (128 MiB) of memory, memory (KiB) times passes above 262,144, or more
// than 16 passes or 16 lanes. It
// refuses as malformed PBKDF2 with no iteration, argon2id with no pass or
// lane, and PBKDF2 and argon2id digests shorter than 16 or longer than 64
// bytes.
func Detect(hash string) (Format, error) {
	h, err := parse(hash)
	if err != nil {
		return "", err
	}
	return h.format, nil
}

// Verify reports whether password matches the imported hash, comparing in
// constant time. The password is used exactly as typed, without
// normalisation, as the old product hashed its raw bytes (bcrypt, as
// always, looks only at the first 72 bytes). A hash that Detect refuses,
// including one over Detect's cost bounds (imported when the bounds were
// higher), is an error wrapping ErrUnknownFormat (and ErrOverBounds), and
// no hashing is done for it.
func Verify(hash, password string) (bool, error) {
	h, err := parse(hash)
	if err != nil {
		return false, err
	}
	ok, err := h.check(password)
	if err != nil {
		return false, fmt.Errorf("legacy: verify %s hash: %w", h.format, err)
	}
	return ok, nil
}

// parsedHash is a hash that parsed, with the function that checks a
// password against it.
type parsedHash struct {
	format Format
	check  func(password string) (bool, error)
}

func parse(hash string) (parsedHash, error) {
	if hash == "" {
		return parsedHash{}, refuse("empty")
	}
	for i := 0; i < len(hash); i++ {
		if c := hash[i]; c <= ' ' || c == 0x7f {
			return parsedHash{}, refuse("space or control character in hash")
		}
	}
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return parseBcrypt(hash)
	case strings.HasPrefix(hash, "$argon2id$"):
		return parseArgon2id(strings.TrimPrefix(hash, "$argon2id$"))
	case strings.HasPrefix(hash, "$pbkdf2-sha256$"):
		return parsePBKDF2(strings.TrimPrefix(hash, "$pbkdf2-sha256$"))
	case strings.HasPrefix(hash, "pbkdf2_sha256$"):
		return parseDjango(strings.TrimPrefix(hash, "pbkdf2_sha256$"))
	case len(hash) >= len("{SSHA256}") && strings.EqualFold(hash[:len("{SSHA256}")], "{SSHA256}"):
		return parseSSHA256(hash[len("{SSHA256}"):])
	case strings.HasPrefix(hash, "sha256$"):
		return parseSaltedSHA256(strings.TrimPrefix(hash, "sha256$"))
	}
	return parsedHash{}, refuse("unrecognised prefix")
}

// bcryptAlphabet is the base64 alphabet of bcrypt's salt and digest.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks $2x$NN$ followed by 22 characters of salt and 31 of
// digest. $2y$ (PHP's name for the fixed $2a$) is the same algorithm as
// $2b$, and golang.org/x/crypto/bcrypt compares it as written.
func parseBcrypt(hash string) (parsedHash, error) {
	if len(hash) != 60 || hash[6] != '$' {
		return parsedHash{}, refuse("bcrypt: malformed")
	}
	for i := 7; i < len(hash); i++ {
		if strings.IndexByte(bcryptAlphabet, hash[i]) < 0 {
			return parsedHash{}, refuse("bcrypt: salt or digest is not bcrypt base64")
		}
	}
	if hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' {
		return parsedHash{}, refuse("bcrypt: malformed cost")
	}
	cost, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return parsedHash{}, refuse("bcrypt: cost out of range")
	}
	if cost > MaxBcryptCost {
		return parsedHash{}, tooCostly("bcrypt: cost %d above %d", cost, MaxBcryptCost)
	}
	return parsedHash{format: FormatBcrypt, check: func(password string) (bool, error) {
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		}
		return false, err
	}}, nil
}

// parseArgon2id parses what follows "$argon2id$": [v=19$]m=…,t=…,p=…$salt$hash.
// A missing version is taken as 19: argon2id appeared after version 19, so
// every encoder of it that omits the field means 19.
func parseArgon2id(rest string) (parsedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) == 4 {
		v, ok := strings.CutPrefix(parts[0], "v=")
		if !ok {
			return parsedHash{}, refuse("argon2id: malformed")
		}
		if v != "19" {
			return parsedHash{}, refuse("argon2id: version is not 19")
		}
		parts = parts[1:]
	}
	if len(parts) != 3 {
		return parsedHash{}, refuse("argon2id: malformed")
	}
	params, err := parseParams(parts[0], "m", "t", "p")
	if err != nil {
		return parsedHash{}, refuse("argon2id: %v", err)
	}
	for _, k := range []string{"m", "t", "p"} {
		if _, ok := params[k]; !ok {
			return parsedHash{}, refuse("argon2id: missing %s", k)
		}
	}
	m, t, p := params["m"], params["t"], params["p"]
	switch {
	case p < 1:
		return parsedHash{}, refuse("argon2id: p=0")
	case t < 1:
		return parsedHash{}, refuse("argon2id: t=0")
	case m < 8*p:
		return parsedHash{}, refuse("argon2id: m=%d below 8*p", m)
	case p > MaxArgon2Lanes:
		return parsedHash{}, tooCostly("argon2id: p=%d above %d", p, MaxArgon2Lanes)
	case t > MaxArgon2Passes:
		return parsedHash{}, tooCostly("argon2id: t=%d above %d", t, MaxArgon2Passes)
	case m > MaxArgon2MemoryKiB:
		return parsedHash{}, tooCostly("argon2id: m=%d KiB above %d", m, MaxArgon2MemoryKiB)
	case m*t > MaxArgon2Work:
		return parsedHash{}, tooCostly("argon2id: m=%d KiB times t=%d above %d", m, t, MaxArgon2Work)
	}
	salt, digest, err := decodeSaltDigest(parts[1], parts[2], false)
	if err != nil {
		return parsedHash{}, refuse("argon2id: %v", err)
	}
	return parsedHash{format: FormatArgon2id, check: func(password string) (bool, error) {
		got := argon2.IDKey([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(len(digest)))
		return subtle.ConstantTimeCompare(got, digest) == 1, nil
	}}, nil
}

// parsePBKDF2 parses what follows "$pbkdf2-sha256$": the PHC form
// i=…[,l=…]$salt$hash, or passlib's …$salt$hash with a bare iteration count.
// Salt and digest may use passlib's adapted base64 ('.' for '+').
func parsePBKDF2(rest string) (parsedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 || parts[0] == "" {
		return parsedHash{}, refuse("pbkdf2-sha256: malformed")
	}
	var iter, keyLen uint64
	if c := parts[0][0]; c >= '0' && c <= '9' {
		n, err := strconv.ParseUint(parts[0], 10, 64)
		if err != nil {
			return parsedHash{}, refuse("pbkdf2-sha256: malformed iteration count")
		}
		iter = n
	} else {
		params, err := parseParams(parts[0], "i", "l")
		if err != nil {
			return parsedHash{}, refuse("pbkdf2-sha256: %v", err)
		}
		n, ok := params["i"]
		if !ok {
			return parsedHash{}, refuse("pbkdf2-sha256: missing i")
		}
		iter, keyLen = n, params["l"]
		if _, ok := params["l"]; ok && keyLen == 0 {
			return parsedHash{}, refuse("pbkdf2-sha256: l=0")
		}
	}
	if err := checkIterations("pbkdf2-sha256", iter); err != nil {
		return parsedHash{}, err
	}
	salt, digest, err := decodeSaltDigest(parts[1], parts[2], true)
	if err != nil {
		return parsedHash{}, refuse("pbkdf2-sha256: %v", err)
	}
	if keyLen != 0 && keyLen != uint64(len(digest)) {
		return parsedHash{}, refuse("pbkdf2-sha256: digest is %d bytes, l=%d", len(digest), keyLen)
	}
	return parsedHash{format: FormatPBKDF2, check: pbkdf2Check(salt, digest, int(iter))}, nil
}

// parseDjango parses what follows "pbkdf2_sha256$": iterations$salt$hash,
// where the salt is used as written and the digest is 32 bytes in padded
// standard base64.
func parseDjango(rest string) (parsedHash, error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return parsedHash{}, refuse("django-pbkdf2-sha256: malformed")
	}
	iter, err := strconv.ParseUint(parts[0], 10, 64)
	if err != nil {
		return parsedHash{}, refuse("django-pbkdf2-sha256: malformed iteration count")
	}
	if err := checkIterations("django-pbkdf2-sha256", iter); err != nil {
		return parsedHash{}, err
	}
	if parts[1] == "" {
		return parsedHash{}, refuse("django-pbkdf2-sha256: empty salt")
	}
	digest, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return parsedHash{}, refuse("django-pbkdf2-sha256: digest is not base64")
	}
	if len(digest) != sha256.Size {
		return parsedHash{}, refuse("django-pbkdf2-sha256: digest is %d bytes, want %d", len(digest), sha256.Size)
	}
	return parsedHash{format: FormatDjangoPBKDF2, check: pbkdf2Check([]byte(parts[1]), digest, int(iter))}, nil
}

func checkIterations(format string, iter uint64) error {
	switch {
	case iter < 1:
		return refuse("%s: 0 iterations", format)
	case iter > MaxPBKDF2Iterations:
		return tooCostly("%s: %d iterations above %d", format, iter, MaxPBKDF2Iterations)
	}
	return nil
}

func pbkdf2Check(salt, digest []byte, iter int) func(string) (bool, error) {
	return func(password string) (bool, error) {
		got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(digest))
		if err != nil {
			return false, err
		}
		return subtle.ConstantTimeCompare(got, digest) == 1, nil
	}
}

// parseSSHA256 parses what follows "{SSHA256}": padded standard base64 of
// the 32-byte digest followed by a salt of at least one byte.
func parseSSHA256(rest string) (parsedHash, error) {
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return parsedHash{}, refuse("ssha256: not base64")
	}
	if len(raw) <= sha256.Size {
		return parsedHash{}, refuse("ssha256: %d bytes, want a %d-byte digest and a salt", len(raw), sha256.Size)
	}
	digest, salt := raw[:sha256.Size], raw[sha256.Size:]
	return parsedHash{format: FormatSSHA256, check: func(password string) (bool, error) {
		h := sha256.New()
		h.Write([]byte(password))
		h.Write(salt)
		return subtle.ConstantTimeCompare(h.Sum(nil), digest) == 1, nil
	}}, nil
}

// parseSaltedSHA256 parses what follows "sha256$": SALT$HEX, where HEX is
// the 64 hex digits of sha256(SALT + password).
func parseSaltedSHA256(rest string) (parsedHash, error) {
	salt, hexDigest, ok := strings.Cut(rest, "$")
	if !ok || strings.Contains(hexDigest, "$") {
		return parsedHash{}, refuse("sha256-salted: malformed")
	}
	if salt == "" {
		return parsedHash{}, refuse("sha256-salted: empty salt")
	}
	if len(hexDigest) != 2*sha256.Size {
		return parsedHash{}, refuse("sha256-salted: digest is %d hex digits, want %d", len(hexDigest), 2*sha256.Size)
	}
	digest, err := hex.DecodeString(hexDigest)
	if err != nil {
		return parsedHash{}, refuse("sha256-salted: digest is not hex")
	}
	return parsedHash{format: FormatSaltedSHA256, check: func(password string) (bool, error) {
		h := sha256.New()
		h.Write([]byte(salt))
		h.Write([]byte(password))
		return subtle.ConstantTimeCompare(h.Sum(nil), digest) == 1, nil
	}}, nil
}

// parseParams parses PHC parameters "k=v,k=v" whose names are among names
// and whose values are decimal numbers below 2^32. Each name may appear once.
func parseParams(s string, names ...string) (map[string]uint64, error) {
	params := make(map[string]uint64, len(names))
	for field := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return nil, errors.New("malformed parameters")
		}
		known := false
		for _, name := range names {
			known = known || k == name
		}
		if !known {
			return nil, errors.New("unknown parameter")
		}
		if _, dup := params[k]; dup {
			return nil, fmt.Errorf("%s given twice", k)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("malformed %s", k)
		}
		params[k] = n
	}
	return params, nil
}

// decodeSaltDigest decodes the salt and digest of a PHC string: standard
// base64, with or without padding, or with '.' for '+' when dot is set
// (passlib's adapted base64). The salt must not be empty and the digest
// must be minDigestBytes to maxDigestBytes long.
func decodeSaltDigest(salt, digest string, dot bool) (saltBytes, digestBytes []byte, err error) {
	saltBytes, err = decodePHCBase64(salt, dot)
	if err != nil || len(saltBytes) == 0 {
		return nil, nil, errors.New("salt is empty or not base64")
	}
	digestBytes, err = decodePHCBase64(digest, dot)
	if err != nil {
		return nil, nil, errors.New("digest is not base64")
	}
	if n := len(digestBytes); n < minDigestBytes || n > maxDigestBytes {
		return nil, nil, fmt.Errorf("digest is %d bytes, want %d to %d", n, minDigestBytes, maxDigestBytes)
	}
	return saltBytes, digestBytes, nil
}

func decodePHCBase64(s string, dot bool) ([]byte, error) {
	if dot {
		s = strings.ReplaceAll(s, ".", "+")
	}
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
