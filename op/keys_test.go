package op

import (
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func jwksKids(t *testing.T, m *KeyManager) []string {
	t.Helper()
	body, _, _ := m.JWKS()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// Two replicas starting together make one key; a rotation is published at
// once, signs only after the activation delay, and the old key leaves the
// JWKS when its tokens have expired.
func TestKeyRotationAcrossReplicas(t *testing.T) {
	for name, newStore := range map[string]func(testing.TB) storage.Storage{
		"sqlite":   func(t testing.TB) storage.Storage { return gormstoretest.NewSQLite(t) },
		"postgres": func(t testing.TB) storage.Storage { return gormstoretest.NewPostgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			keys, err := secret.Parse(base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
			if err != nil {
				t.Fatal(err)
			}
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			mk := func() *KeyManager {
				return NewKeyManager(KeyManagerConfig{Store: st, Sealer: keys, Algorithm: "ES256", RefreshInterval: 10 * time.Second, Now: clk.now})
			}
			replicas := []*KeyManager{mk(), mk(), mk()}
			var wg sync.WaitGroup
			for _, m := range replicas {
				wg.Add(1)
				go func() { defer wg.Done(); _ = m.Init(t.Context()) }()
			}
			wg.Wait()
			all, err := st.ListSigningKeys(t.Context())
			if err != nil || len(all) != 1 {
				t.Fatalf("replicas starting together made %d keys (%v), want 1", len(all), err)
			}
			first := all[0].ID
			for _, m := range replicas {
				if err := m.Reload(t.Context()); err != nil {
					t.Fatal(err)
				}
				k, err := m.SigningKey()
				if err != nil || k.ID() != first {
					t.Fatalf("signing key %v %v, want %s", k, err, first)
				}
			}

			newKey, err := replicas[0].Rotate(t.Context(), "RS256", replicas[0].ActivationDelay(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range replicas {
				if err := m.Reload(t.Context()); err != nil {
					t.Fatal(err)
				}
				if got := jwksKids(t, m); len(got) != 2 {
					t.Errorf("after rotate the JWKS has %v, want both keys", got)
				}
				if k, _ := m.SigningKey(); k.ID() != first {
					t.Errorf("signs with %s before the activation delay, want the old key", k.ID())
				}
			}
			clk.add(replicas[0].ActivationDelay())
			for _, m := range replicas {
				if k, _ := m.SigningKey(); k.ID() != newKey.ID || k.SignatureAlgorithm() != "RS256" {
					t.Errorf("after the delay signs with %s, want %s", k.ID(), newKey.ID)
				}
			}
			clk.add(time.Hour)
			for _, m := range replicas {
				if err := m.Reload(t.Context()); err != nil {
					t.Fatal(err)
				}
				if got := jwksKids(t, m); len(got) != 1 || got[0] != newKey.ID {
					t.Errorf("after retirement the JWKS has %v, want only %s", got, newKey.ID)
				}
			}
		})
	}
}
