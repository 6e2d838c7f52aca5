package login

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/legacy"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// cancelAfterUser cancels the sign-in's context as soon as its user is
// loaded: what the flow does next runs with an ended context.
type cancelAfterUser struct {
	*fakeStore
	cancel context.CancelFunc
}

func (s cancelAfterUser) GetUserByEmail(ctx context.Context, e string) (storage.User, error) {
	u, err := s.fakeStore.GetUserByEmail(ctx, e)
	s.cancel()
	return u, err
}

func legacyStore(hash string) *fakeStore {
	return &fakeStore{requests: map[string]storage.AuthRequest{"r1": {ID: "r1", ExpiresAt: time.Now().Add(time.Hour)}},
		users: map[string]storage.User{"kei@example.com": {ID: "u-kei", Email: "kei@example.com", LegacyID: "L-1",
			LegacyHash: hash}},
		sessions: map[string]storage.Session{}, counters: map[string]storage.Counter{}}
}

// TestLegacyCheckWaitsForGate: an imported hash is checked under the
// argon2id hasher's gate (password.max_concurrent), not beside it. With
// one slot, held here, the check does not run: the sign-in's context ends
// right after its user is loaded, and the check gives up waiting without
// verifying (without the gate it would verify at once). Once the slot is
// free, the same sign-in verifies.
func TestLegacyCheckWaitsForGate(t *testing.T) {
	hasher := password.New(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 1)
	var verified int
	lc := LegacyConfig{Enabled: true, Verify: func(hash, pw string) (bool, error) {
		verified++
		return hash == "legacy:"+pw, nil
	}}
	st := legacyStore("legacy:old-pass")
	newFlow := func(store Store) *Flow {
		return NewFlow(FlowConfig{Store: store, Hasher: plainHasher{}, Passwords: hasher, Legacy: lc,
			SessionIdle: time.Hour, SessionAbsolute: time.Hour,
			Throttle: Throttle{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}})
	}
	in := Credentials{AuthRequestID: "r1", Email: "kei@example.com", Password: "old-pass", IP: "192.0.2.1"}

	entered, release, held := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		held <- hasher.Gate(t.Context(), func() {
			close(entered)
			<-release
		})
	}()
	<-entered
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, login := range []struct {
		name string
		run  func(*Flow, context.Context, Credentials) (SignedIn, error)
	}{{"unified form", (*Flow).Login}, {"legacy form", (*Flow).LegacyLogin}} {
		ctx, cancel := context.WithCancel(ctx)
		_, err := login.run(newFlow(cancelAfterUser{st, cancel}), ctx, in)
		if !errors.Is(err, context.Canceled) || verified != 0 {
			t.Errorf("%s with the gate held: %v, %d verifications; want context.Canceled and none", login.name, err, verified)
		}
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if _, err := newFlow(st).Login(t.Context(), in); !errors.Is(err, ErrLegacyReset) || verified != 1 {
		t.Errorf("with the gate free: %v, %d verifications; want ErrLegacyReset after one", err, verified)
	}
}

// TestLegacyOverBounds: a hash imported when the bounds were higher is
// not verified; the right password gets the answer of a wrong one, and
// the warning names the user's id, not the address or the hash.
func TestLegacyOverBounds(t *testing.T) {
	const hash = "$2b$13$SekishoSaltSekishoSalenvoOzPdYHR7Zq8G8LGWjwy18LwL0f.y"
	if _, err := legacy.Detect(hash); !errors.Is(err, legacy.ErrOverBounds) {
		t.Fatalf("Detect = %v, want ErrOverBounds", err)
	}
	var logs bytes.Buffer
	st := legacyStore(hash)
	f := NewFlow(FlowConfig{Store: st, Hasher: plainHasher{}, Passwords: &fakePasswords{},
		Legacy: LegacyConfig{Enabled: true, Verify: legacy.Verify}, SessionIdle: time.Hour, SessionAbsolute: time.Hour,
		Throttle: Throttle{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour},
		Logger:   slog.New(slog.NewTextHandler(&logs, nil))})
	for _, pw := range []string{"correct horse", "wrong horse"} {
		if _, err := f.Login(t.Context(), Credentials{AuthRequestID: "r1", Email: "kei@example.com", Password: pw}); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("Login(%q) = %v, want ErrInvalidCredentials", pw, err)
		}
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 2 || !strings.Contains(out, "user_id=u-kei") || !strings.Contains(out, "cost 13 above 12") ||
		strings.Contains(out, "kei@") || strings.Contains(out, "SekishoSalt") || strings.Contains(out, "horse") {
		t.Errorf("log:\n%s\nwant one warning per attempt, naming the user id and the cost, not the address, hash or password", out)
	}
}
