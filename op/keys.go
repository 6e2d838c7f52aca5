package op

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/sekisho/sekisho/storage"
)

// KeySealer encrypts private keys at rest (secret.Keys does).
type KeySealer interface {
	SealKey(plaintext []byte) ([]byte, error)
	OpenKey(ciphertext []byte) ([]byte, error)
}

// ErrNoSigningKey means no key is active yet (the database holds none).
var ErrNoSigningKey = errors.New("op: no active signing key")

// KeyManager keeps the signing keys in memory, reloads them from the
// database every RefreshInterval, and hands out the active key without a
// database read per token. Every replica picks the same key: the newest
// whose activation time has passed.
type KeyManager struct {
	store     storage.KeyStore
	sealer    KeySealer
	algorithm string
	refresh   time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu       sync.RWMutex
	keys     []*loadedKey // published (not retired), oldest first
	jwks     []byte
	jwksETag string
	version  uint64
}

type loadedKey struct {
	id        string
	alg       jose.SignatureAlgorithm
	priv      crypto.Signer
	pub       crypto.PublicKey
	activates time.Time
	retires   *time.Time
}

// KeyManagerConfig configures NewKeyManager.
type KeyManagerConfig struct {
	Store           storage.KeyStore
	Sealer          KeySealer
	Algorithm       string // RS256 | ES256: used for keys this process generates
	RefreshInterval time.Duration
	Now             func() time.Time
	Logger          *slog.Logger
}

// NewKeyManager returns a manager; call Init before use.
func NewKeyManager(c KeyManagerConfig) *KeyManager {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &KeyManager{store: c.Store, sealer: c.Sealer, algorithm: c.Algorithm,
		refresh: c.RefreshInterval, now: c.Now, log: c.Logger}
}

// Init creates the first key when the database has none (one key even
// when replicas start together: the storage serialises under a lock) and
// loads the keys.
func (m *KeyManager) Init(ctx context.Context) error {
	now := m.now().UTC()
	created, err := m.store.EnsureSigningKey(ctx, now, func() (storage.SigningKey, error) {
		return m.generate(m.algorithm, now, now)
	})
	if err != nil {
		return fmt.Errorf("op: ensure signing key: %w", err)
	}
	if created {
		m.log.InfoContext(ctx, "generated the first signing key", "alg", m.algorithm)
	}
	return m.Reload(ctx)
}

// Run reloads the keys every refresh interval until ctx ends.
func (m *KeyManager) Run(ctx context.Context) {
	t := time.NewTicker(m.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Reload(ctx); err != nil && ctx.Err() == nil {
				m.log.WarnContext(ctx, "reload signing keys", "err", err)
			}
		}
	}
}

// Reload reads the keys from the database and rebuilds the cached JWKS
// when the set changed.
func (m *KeyManager) Reload(ctx context.Context) error {
	rows, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("op: list signing keys: %w", err)
	}
	now := m.now()
	m.mu.RLock()
	known := make(map[string]*loadedKey, len(m.keys))
	for _, k := range m.keys {
		known[k.id] = k
	}
	m.mu.RUnlock()

	var keys []*loadedKey
	changed := false
	for _, r := range rows {
		if r.RetiresAt != nil && !now.Before(*r.RetiresAt) {
			continue
		}
		if k, ok := known[r.ID]; ok {
			if !sameTime(k.retires, r.RetiresAt) {
				k = &loadedKey{id: k.id, alg: k.alg, priv: k.priv, pub: k.pub, activates: k.activates, retires: r.RetiresAt}
				changed = true
			}
			keys = append(keys, k)
			continue
		}
		k, err := m.load(r)
		if err != nil {
			return err
		}
		keys = append(keys, k)
		changed = true
	}
	if len(keys) != len(known) {
		changed = true
	}
	if !changed {
		return nil
	}
	jwks, err := marshalJWKS(keys)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(jwks)
	m.mu.Lock()
	m.keys = keys
	m.jwks = jwks
	m.jwksETag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	m.version++
	m.mu.Unlock()
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func (m *KeyManager) load(r storage.SigningKey) (*loadedKey, error) {
	der, err := m.sealer.OpenKey(r.PrivateKeyEncrypted)
	if err != nil {
		return nil, fmt.Errorf("op: decrypt signing key %s (is SEKISHO_SECRET the one the keys were made with?): %w", r.ID, err)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("op: parse signing key %s: %w", r.ID, err)
	}
	signer, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("op: signing key %s is not a signer", r.ID)
	}
	return &loadedKey{id: r.ID, alg: jose.SignatureAlgorithm(r.Algorithm), priv: signer,
		pub: signer.Public(), activates: r.ActivatesAt, retires: r.RetiresAt}, nil
}

// generate makes a new key of alg, encrypted for storage.
func (m *KeyManager) generate(alg string, now, activates time.Time) (storage.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return storage.SigningKey{}, fmt.Errorf("op: unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("op: generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, err
	}
	sealed, err := m.sealer.SealKey(der)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("op: encrypt signing key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return storage.SigningKey{}, err
	}
	kidSum := sha256.Sum256(pub)
	return storage.SigningKey{
		ID:                  base64.RawURLEncoding.EncodeToString(kidSum[:16]),
		Algorithm:           alg,
		PrivateKeyEncrypted: sealed,
		PublicKey:           pub,
		CreatedAt:           now,
		ActivatesAt:         activates,
	}, nil
}

// Rotate publishes a new key of alg at once; it starts signing after
// activationDelay (long enough for every replica's cache to have seen it),
// and the keys before it leave the JWKS retireAfter later than that (the
// longest lifetime of a token they signed). It returns the new key.
func (m *KeyManager) Rotate(ctx context.Context, alg string, activationDelay, retireAfter time.Duration) (storage.SigningKey, error) {
	now := m.now().UTC()
	existing, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("op: list signing keys: %w", err)
	}
	signing := false
	for _, k := range existing {
		if !now.Before(k.ActivatesAt) && (k.RetiresAt == nil || now.Before(*k.RetiresAt)) {
			signing = true
		}
	}
	if !signing {
		// Nothing signs yet (a fresh database): no replica can be
		// holding an older key, so the new one signs at once.
		activationDelay = 0
	}
	activates := now.Add(activationDelay)
	k, err := m.generate(alg, now, activates)
	if err != nil {
		return storage.SigningKey{}, err
	}
	if err := m.store.RotateSigningKey(ctx, k, activates.Add(retireAfter)); err != nil {
		return storage.SigningKey{}, fmt.Errorf("op: rotate signing key: %w", err)
	}
	return k, nil
}

// ActivationDelay is how long a rotated key waits before signing: three
// refresh intervals, so every replica has loaded it.
func (m *KeyManager) ActivationDelay() time.Duration { return 3 * m.refresh }

// SigningKey returns the key with the latest activation time that has
// passed (every replica computes the same choice from the same rows).
func (m *KeyManager) SigningKey() (zop.SigningKey, error) {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	var best *loadedKey
	for _, k := range m.keys {
		if !now.Before(k.activates) && (best == nil || k.activates.After(best.activates) ||
			(k.activates.Equal(best.activates) && k.id > best.id)) {
			best = k
		}
	}
	if best == nil {
		return nil, ErrNoSigningKey
	}
	return signingKey{best}, nil
}

// Sign signs payload with the current signing key as a compact JWS whose
// header names the key (kid) and the token type (typ), such as
// "logout+jwt" (Back-Channel Logout) or "at+jwt" (RFC 9068 access
// tokens). The library's own signer always writes "JWT".
func (m *KeyManager) Sign(payload []byte, typ string) (string, error) {
	key, err := m.SigningKey()
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(),
		Key: jose.JSONWebKey{Key: key.Key(), KeyID: key.ID()}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("op: %s signer: %w", typ, err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("op: sign %s: %w", typ, err)
	}
	return jws.CompactSerialize()
}

// Algorithms lists the algorithms of the published keys.
func (m *KeyManager) Algorithms() []jose.SignatureAlgorithm {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []jose.SignatureAlgorithm
	seen := map[jose.SignatureAlgorithm]bool{}
	for _, k := range m.keys {
		if !seen[k.alg] {
			seen[k.alg] = true
			out = append(out, k.alg)
		}
	}
	return out
}

// KeySet returns the published public keys.
func (m *KeyManager) KeySet() []zop.Key {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]zop.Key, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, publicKey{k})
	}
	return out
}

// JWKS returns the pre-serialised key set, its ETag and a version that
// changes whenever the set does.
func (m *KeyManager) JWKS() (body []byte, etag string, version uint64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.jwks, m.jwksETag, m.version
}

func marshalJWKS(keys []*loadedKey) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.pub, KeyID: k.id, Algorithm: string(k.alg), Use: "sig"})
	}
	return json.Marshal(set)
}

type signingKey struct{ k *loadedKey }

func (s signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return s.k.alg }
func (s signingKey) Key() any                                    { return s.k.priv }
func (s signingKey) ID() string                                  { return s.k.id }

type publicKey struct{ k *loadedKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return p.k.pub }
