package storagetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func testSigningKeys(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	diff(t, "keys of an empty store", []storage.SigningKey(nil), keys)

	_, err = s.EnsureSigningKey(ctx, t0, func() (storage.SigningKey, error) { return storage.SigningKey{}, errAbort })
	wantErr(t, "EnsureSigningKey(generate fails)", err, errAbort)

	k1 := newSigningKey("k1", t0)
	inserted, err := s.EnsureSigningKey(ctx, t0, func() (storage.SigningKey, error) { return k1, nil })
	must(t, err)
	if !inserted {
		t.Error("EnsureSigningKey on an empty store inserted nothing")
	}
	inserted, err = s.EnsureSigningKey(ctx, t0, func() (storage.SigningKey, error) {
		t.Error("generate called although a key exists")
		return newSigningKey("unwanted", t0), nil
	})
	must(t, err)
	if inserted {
		t.Error("EnsureSigningKey inserted a second key")
	}

	// Rotation retires k1 and keeps k2 active.
	k2 := newSigningKey("k2", t0.Add(24*time.Hour))
	retire := t0.Add(25 * time.Hour)
	must(t, s.RotateSigningKey(ctx, k2, retire))
	k1.RetiresAt = &retire
	keys, err = s.ListSigningKeys(ctx)
	must(t, err)
	diff(t, "keys after rotation", []storage.SigningKey{k1, k2}, keys)
	wantErr(t, "RotateSigningKey(duplicate)", s.RotateSigningKey(ctx, k2, retire), storage.ErrAlreadyExists)

	// A third key, created at the same time as k2, sorts by id; k2 retires.
	k0 := newSigningKey("k0", k2.CreatedAt)
	must(t, s.RotateSigningKey(ctx, k0, retire.Add(time.Hour)))
	k2.RetiresAt = new(retire.Add(time.Hour))
	keys, err = s.ListSigningKeys(ctx)
	must(t, err)
	diff(t, "keys after second rotation", []storage.SigningKey{k1, k0, k2}, keys)

	// k3 retires k0; as k3 itself has no retirement, Ensure has nothing to
	// do even long after.
	must(t, s.RotateSigningKey(ctx, newSigningKey("k3", t0.Add(48*time.Hour)), t0.Add(48*time.Hour)))
	inserted, err = s.EnsureSigningKey(ctx, t0.Add(100*time.Hour), func() (storage.SigningKey, error) { return newSigningKey("k4", t0), nil })
	must(t, err)
	if inserted {
		t.Error("EnsureSigningKey inserted although k3 is not retired")
	}
}

// testSigningKeysAllRetired checks that a key counts until its RetiresAt.
func testSigningKeysAllRetired(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	retire := t0.Add(time.Hour)
	k := newSigningKey("k1", t0)
	k.RetiresAt = &retire
	must(t, s.RotateSigningKey(ctx, k, retire))
	for _, tt := range []struct {
		name string
		now  time.Time
		want bool
	}{
		{"before retirement", t0, false},
		{"at retirement", retire, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inserted, err := s.EnsureSigningKey(ctx, tt.now, func() (storage.SigningKey, error) {
				return newSigningKey("new-"+tt.name, tt.now), nil
			})
			must(t, err)
			if inserted != tt.want {
				t.Errorf("EnsureSigningKey(%v) inserted = %v, want %v", tt.now, inserted, tt.want)
			}
		})
	}
}

func testEnsureSigningKeyConcurrent(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	var generated, inserted atomic.Int32
	errs := race(8, func(i int) error {
		ok, err := s.EnsureSigningKey(ctx, t0, func() (storage.SigningKey, error) {
			generated.Add(1)
			return newSigningKey(fmt.Sprintf("k%d", i), t0), nil
		})
		if ok {
			inserted.Add(1)
		}
		return err
	})
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("EnsureSigningKey #%d", i), err, nil)
	}
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	if len(keys) != 1 || inserted.Load() != 1 || generated.Load() != 1 {
		t.Errorf("got %d keys, %d inserted, %d generated; want 1 each", len(keys), inserted.Load(), generated.Load())
	}
}
