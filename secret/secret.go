// Package secret derives sekisho's working keys from the one operator
// secret, SEKISHO_SECRET, and provides the small primitives built on them:
// keyed hashes for stored codes and tokens, authenticated encryption for
// signing keys and outbox bodies, random tokens and constant-time compare.
//
// Every key is derived with HKDF-SHA256 under its own label, so all replicas
// given the same secret agree on every key.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MinSecretBytes is the least number of decoded bytes Parse accepts.
const MinSecretBytes = 32

// HKDF labels (info strings) of the derived keys. Changing one changes
// every value stored under that key.
const (
	labelOPCrypto      = "sekisho/op-crypto"
	labelTokenHash     = "sekisho/token-hash"
	labelKeyEncryption = "sekisho/key-encryption"
	labelOutbox        = "sekisho/outbox-encryption"
	labelSuccessor     = "sekisho/refresh-successor"
	labelTOTP          = "sekisho/totp-secret"
)

// Kinds passed to Keys.Hash by the packages that store hashed values. A kind
// separates the hash domains, so a value hashed as one kind never matches a
// stored hash of another. Callers may use further kinds of their own.
const (
	KindCode    = "code"    // authorization codes
	KindRefresh = "refresh" // refresh tokens
	KindSession = "session" // SSO session ids
	KindBrowser = "browser" // browser (device) ids
)

// ErrDecrypt is returned when a ciphertext is malformed, was sealed under
// another key or purpose, or has been tampered with.
var ErrDecrypt = errors.New("secret: cannot decrypt: wrong key or corrupt data")

// Keys holds the keys derived from SEKISHO_SECRET.
type Keys struct {
	opCrypto  [32]byte
	tokenHash []byte
	successor []byte
	keys      sealer // encrypts signing keys at rest
	outbox    sealer // encrypts outbox bodies at rest
	totp      sealer // encrypts authenticator-app secrets at rest
}

// Parse decodes a base64 secret (standard or URL alphabet, with or without
// padding; surrounding white space ignored) of at least MinSecretBytes bytes
// and derives the keys from it.
func Parse(b64 string) (*Keys, error) {
	raw, ok := decodeBase64(strings.TrimSpace(b64))
	if !ok {
		return nil, errors.New("secret: not valid base64 (standard or URL alphabet)")
	}
	if len(raw) < MinSecretBytes {
		return nil, fmt.Errorf("secret: decodes to %d bytes, need at least %d random bytes", len(raw), MinSecretBytes)
	}
	var err error
	k := &Keys{}
	var opCrypto, keyEnc, outbox, totp []byte
	for _, d := range []struct {
		label string
		dst   *[]byte
	}{
		{labelOPCrypto, &opCrypto},
		{labelTokenHash, &k.tokenHash},
		{labelKeyEncryption, &keyEnc},
		{labelOutbox, &outbox},
		{labelSuccessor, &k.successor},
		{labelTOTP, &totp},
	} {
		if *d.dst, err = hkdf.Key(sha256.New, raw, nil, d.label, 32); err != nil {
			return nil, fmt.Errorf("secret: deriving %s: %w", d.label, err)
		}
	}
	copy(k.opCrypto[:], opCrypto)
	if k.keys, err = newSealer(keyEnc, labelKeyEncryption); err != nil {
		return nil, err
	}
	if k.outbox, err = newSealer(outbox, labelOutbox); err != nil {
		return nil, err
	}
	if k.totp, err = newSealer(totp, labelTOTP); err != nil {
		return nil, err
	}
	return k, nil
}

// decodeBase64 accepts any of the four standard base64 variants; a string
// valid in more than one decodes to the same bytes in each.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// OPCryptoKey returns the key zitadel/oidc uses for codes and opaque tokens
// (op.Config.CryptoKey).
func (k *Keys) OPCryptoKey() [32]byte { return k.opCrypto }

// Hash returns the keyed hash (HMAC-SHA256, lower-case hex) of value in the
// domain kind, for storing codes, tokens and session ids: a stolen database
// copy does not reveal them, and lookup by hash is exact. Hex rather than
// base64 keeps it safe under case-insensitive collations.
func (k *Keys) Hash(kind, value string) string {
	mac := hmac.New(sha256.New, k.tokenHash)
	// kind is a constant without NUL bytes, so kind||0||value is unambiguous.
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil))
}

// Successor returns the refresh token that replaces token when it is
// rotated: an HMAC of token under a key of its own, in the form of
// RandomToken(32). Every replica derives the same successor, so a token
// presented again shortly after its rotation can be answered with the
// same successor without storing it (only its keyed hash is stored).
func (k *Keys) Successor(token string) string {
	mac := hmac.New(sha256.New, k.successor)
	mac.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// SealKey encrypts a signing key for storage.
func (k *Keys) SealKey(plaintext []byte) ([]byte, error) { return k.keys.seal(plaintext) }

// OpenKey decrypts what SealKey produced. It returns ErrDecrypt if the data
// was not sealed by SealKey under the same secret or was altered.
func (k *Keys) OpenKey(ciphertext []byte) ([]byte, error) { return k.keys.open(ciphertext) }

// SealOutbox encrypts an outbox body (mail or logout delivery) for storage.
func (k *Keys) SealOutbox(plaintext []byte) ([]byte, error) { return k.outbox.seal(plaintext) }

// OpenOutbox decrypts what SealOutbox produced. It returns ErrDecrypt if the
// data was not sealed by SealOutbox under the same secret or was altered.
func (k *Keys) OpenOutbox(ciphertext []byte) ([]byte, error) { return k.outbox.open(ciphertext) }

// SealTOTP encrypts an authenticator app's shared secret for storage: it
// must be read back to check codes, so it cannot be hashed.
func (k *Keys) SealTOTP(plaintext []byte) ([]byte, error) { return k.totp.seal(plaintext) }

// OpenTOTP decrypts what SealTOTP produced. It returns ErrDecrypt if the
// data was not sealed by SealTOTP under the same secret or was altered.
func (k *Keys) OpenTOTP(ciphertext []byte) ([]byte, error) { return k.totp.open(ciphertext) }

// sealer is AES-256-GCM with a random nonce stored in front of the
// ciphertext and a fixed additional-data label naming the purpose.
type sealer struct {
	aead  cipher.AEAD
	label []byte
}

func newSealer(key []byte, label string) (sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealer{}, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, fmt.Errorf("secret: %w", err)
	}
	return sealer{aead: aead, label: []byte(label)}, nil
}

func (s sealer) seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	return s.aead.Seal(nonce, nonce, plaintext, s.label), nil
}

func (s sealer) open(ciphertext []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n+s.aead.Overhead() {
		return nil, ErrDecrypt
	}
	pt, err := s.aead.Open(nil, ciphertext[:n], ciphertext[n:], s.label)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// RandomToken returns nbytes random bytes as unpadded base64url, for codes,
// tokens, session ids and link secrets.
func RandomToken(nbytes int) string {
	b := make([]byte, nbytes)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RandomDigits returns n uniformly random decimal digits, for one-time codes.
func RandomDigits(n int) string {
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, b := range buf {
			// Accept 0..249 only, so each digit is equally likely.
			if b < 250 && len(out) < n {
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out)
}

// Equal reports whether a and b are equal in time that depends only on their
// lengths, not their contents. Compare fixed-length values (digests) when
// the length is itself secret.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
