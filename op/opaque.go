package op

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// opaqueKeyID is the kid of the opaque tokens' key (the library's
// CryptoKeyId).
const opaqueKeyID = "k1"

// opaqueCodec seals and opens opaque access tokens ("id:subject") as a
// compact JWE (RFC 7516 §7.1): the content key wrapped with A256GCMKW
// (RFC 7518 §4.7) under the provider's crypto key, the content encrypted
// with A256GCM (§5.3). It is the form the library's crypto produces and
// reads, so tokens issued by either stay valid with the other; written
// out because the library's go-jose path (a new encrypter, JSON headers
// through reflection, a generic parser) was a tenth of the server's CPU
// per client_credentials token and per introspection.
type opaqueCodec struct {
	kek cipher.AEAD // AES-256-GCM under the crypto key
}

func newOpaqueCodec(key [32]byte) (*opaqueCodec, error) {
	kek, err := newGCM(key[:])
	if err != nil {
		return nil, fmt.Errorf("op: opaque token key: %w", err)
	}
	return &opaqueCodec{kek: kek}, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

const (
	gcmIVSize  = 12
	gcmTagSize = 16
	cekSize    = 32
)

var b64 = base64.RawURLEncoding

// seal returns the compact JWE of plaintext.
func (c *opaqueCodec) seal(plaintext string) (string, error) {
	var random [cekSize + 2*gcmIVSize]byte
	rand.Read(random[:]) // never fails (crypto/rand)
	cek, wrapIV, contentIV := random[:cekSize], random[cekSize:cekSize+gcmIVSize], random[cekSize+gcmIVSize:]
	wrapped := c.kek.Seal(make([]byte, 0, cekSize+gcmTagSize), wrapIV, cek, nil)

	// The protected header, its members in go-jose's (sorted) order.
	var h strings.Builder
	h.Grow(112)
	h.WriteString(`{"alg":"A256GCMKW","enc":"A256GCM","iv":"`)
	h.WriteString(b64.EncodeToString(wrapIV))
	h.WriteString(`","kid":"` + opaqueKeyID + `","tag":"`)
	h.WriteString(b64.EncodeToString(wrapped[cekSize:]))
	h.WriteString(`"}`)
	header := b64.EncodeToString([]byte(h.String()))

	content, err := newGCM(cek)
	if err != nil {
		return "", fmt.Errorf("op: opaque token: %w", err)
	}
	sealed := content.Seal(make([]byte, 0, len(plaintext)+gcmTagSize), contentIV, []byte(plaintext), []byte(header))
	n := len(plaintext)
	var out strings.Builder
	out.Grow(len(header) + 4 + b64.EncodedLen(cekSize) + b64.EncodedLen(gcmIVSize) + b64.EncodedLen(n) + b64.EncodedLen(gcmTagSize))
	for i, part := range [][]byte{wrapped[:cekSize], contentIV, sealed[:n], sealed[n:]} {
		if i == 0 {
			out.WriteString(header)
		}
		out.WriteByte('.')
		out.WriteString(b64.EncodeToString(part))
	}
	return out.String(), nil
}

var errOpaque = errors.New("op: not an opaque token of this provider")

// opaqueHeader is what open reads of the protected header.
type opaqueHeader struct {
	Alg  string          `json:"alg"`
	Enc  string          `json:"enc"`
	IV   string          `json:"iv"`
	Tag  string          `json:"tag"`
	Zip  string          `json:"zip"`
	Crit json.RawMessage `json:"crit"`
}

// open returns the plaintext of a token seal made with the same key;
// errOpaque for anything else (a JWT, a forgery, another key).
func (c *opaqueCodec) open(token string) (string, error) {
	var parts [5]string
	rest := token
	for i := range 4 {
		var ok bool
		if parts[i], rest, ok = strings.Cut(rest, "."); !ok {
			return "", errOpaque
		}
	}
	parts[4] = rest
	if strings.Contains(rest, ".") {
		return "", errOpaque
	}
	raw, err := b64.DecodeString(parts[0])
	if err != nil {
		return "", errOpaque
	}
	var h opaqueHeader
	if err := json.Unmarshal(raw, &h); err != nil || h.Alg != "A256GCMKW" || h.Enc != "A256GCM" || h.Zip != "" || h.Crit != nil {
		return "", errOpaque
	}
	wrapIV, err1 := decodeLen(h.IV, gcmIVSize)
	wrapTag, err2 := decodeLen(h.Tag, gcmTagSize)
	wrappedKey, err3 := decodeLen(parts[1], cekSize)
	contentIV, err4 := decodeLen(parts[2], gcmIVSize)
	ciphertext, err5 := b64.DecodeString(parts[3])
	tag, err6 := decodeLen(parts[4], gcmTagSize)
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return "", errOpaque
	}
	cek, err := c.kek.Open(nil, wrapIV, append(wrappedKey, wrapTag...), nil)
	if err != nil {
		return "", errOpaque
	}
	content, err := newGCM(cek)
	if err != nil {
		return "", errOpaque
	}
	plain, err := content.Open(nil, contentIV, append(ciphertext, tag...), []byte(parts[0]))
	if err != nil {
		return "", errOpaque
	}
	return string(plain), nil
}

// decodeLen decodes unpadded base64url of exactly n bytes.
func decodeLen(s string, n int) ([]byte, error) {
	if b64.DecodedLen(len(s)) != n {
		return nil, errOpaque
	}
	return b64.DecodeString(s)
}
