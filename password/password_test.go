package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// testParams keep tests fast.
var testParams = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

func TestHashVerify(t *testing.T) {
	ctx := t.Context()
	h := New(testParams, 0)
	phc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(phc) {
		t.Errorf("Hash = %q, want a PHC string with a 16-byte salt and 32-byte hash", phc)
	}
	if again, _ := h.Hash(ctx, "correct horse"); again == phc {
		t.Error("two hashes of one password are equal: salt not random")
	}

	for _, tc := range []struct {
		pw     string
		wantOK bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"Correct horse", false},
		{"", false},
	} {
		ok, rehash, err := h.Verify(ctx, phc, tc.pw)
		if err != nil || ok != tc.wantOK || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want %v, false, nil", tc.pw, ok, rehash, err, tc.wantOK)
		}
	}
}

// TestReferenceHash verifies a hash made by the reference C implementation:
// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e
func TestReferenceHash(t *testing.T) {
	const ref = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	h := New(testParams, 0)
	ok, rehash, err := h.Verify(t.Context(), ref, "password")
	if !ok || !rehash || err != nil {
		t.Errorf("Verify(reference) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := t.Context()
	old := New(testParams, 0)
	phc, err := old.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]Params{
		"memory":      {MemoryKiB: 128, Iterations: 1, Parallelism: 1},
		"iterations":  {MemoryKiB: 64, Iterations: 2, Parallelism: 1},
		"parallelism": {MemoryKiB: 64, Iterations: 1, Parallelism: 2},
		"key length":  {MemoryKiB: 64, Iterations: 1, Parallelism: 1, KeyLen: 64},
		"salt length": {MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 32},
	} {
		ok, rehash, err := New(p, 0).Verify(ctx, phc, "pw")
		if !ok || !rehash || err != nil {
			t.Errorf("%s changed: Verify = %v, %v, %v; want true, true, nil", name, ok, rehash, err)
		}
	}
}

func TestNFKC(t *testing.T) {
	ctx := t.Context()
	h := New(testParams, 0)
	for _, tc := range []struct{ hashed, typed string }{
		{"Ｐａｓｓ", "Pass"}, // full-width Latin
		{"Pass", "Ｐａｓｓ"},
		{"ﾊﾟｽﾜｰﾄﾞ", "パスワード"},        // half-width katakana
		{"Cafe\u0301", "Caf\u00e9"}, // combining accent vs precomposed
	} {
		phc, err := h.Hash(ctx, tc.hashed)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := h.Verify(ctx, phc, tc.typed); !ok || err != nil {
			t.Errorf("hash of %q does not verify %q: %v, %v", tc.hashed, tc.typed, ok, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{"ascii", "Pass-word1!", "Pass-word1!", nil},
		{"full width", "Ｐａｓｓ１", "Pass1", nil},
		{"128 characters", strings.Repeat("あ", 128), strings.Repeat("あ", 128), nil},
		{"129 characters", strings.Repeat("a", 129), "", ErrTooLong},
		// U+FDFA becomes 18 characters under NFKC: length counts after normalising.
		{"expands past limit", strings.Repeat("\uFDFA", 8), "", ErrTooLong},
		{"huge input", strings.Repeat("a", 1<<20), "", ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("Normalize = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestTooLong(t *testing.T) {
	ctx := t.Context()
	h := New(testParams, 0)
	long := strings.Repeat("a", MaxRunes+1)
	if _, err := h.Hash(ctx, long); !errors.Is(err, ErrTooLong) {
		t.Errorf("Hash(too long) error = %v, want ErrTooLong", err)
	}
	phc, _ := h.Hash(ctx, "pw")
	if ok, _, err := h.Verify(ctx, phc, long); ok || !errors.Is(err, ErrTooLong) {
		t.Errorf("Verify(too long) = %v, %v; want false, ErrTooLong", ok, err)
	}
}

func TestMalformed(t *testing.T) {
	const salt, hash = "c29tZXNhbHRzYWx0", "GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	for name, phc := range map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + hash,
		"old version":    "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + hash,
		"no version":     "$argon2id$m=64,t=1,p=1$" + salt + "$" + hash,
		"params order":   "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + hash,
		"missing param":  "$argon2id$v=19$m=64,t=1$" + salt + "$" + hash,
		"not a number":   "$argon2id$v=19$m=x,t=1,p=1$" + salt + "$" + hash,
		"zero time":      "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + hash,
		"zero threads":   "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash,
		"p overflows":    "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + hash,
		"huge memory":    "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + hash,
		"padded salt":    "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$" + hash,
		"short hash":     "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$YWJj",
		"trailing field": "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash + "$",
	} {
		t.Run(name, func(t *testing.T) {
			ok, _, err := New(testParams, 0).Verify(t.Context(), phc, "password")
			if ok || !errors.Is(err, ErrMalformed) {
				t.Errorf("Verify = %v, %v; want false, ErrMalformed", ok, err)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	h := New(testParams, 0)
	if h.dummy.Params != h.Params() {
		t.Errorf("dummy hash params = %+v, want the hasher's %+v", h.dummy.Params, h.Params())
	}
	var calls atomic.Int32
	h.idKey = countingIDKey(&calls, h.idKey)
	h.VerifyDummy(t.Context(), "anything")
	if calls.Load() != 1 {
		t.Errorf("VerifyDummy computed %d hashes, want 1", calls.Load())
	}
}

func countingIDKey(n *atomic.Int32, f func([]byte, []byte, uint32, uint32, uint8, uint32) []byte) func([]byte, []byte, uint32, uint32, uint8, uint32) []byte {
	return func(pw, salt []byte, t, m uint32, p uint8, l uint32) []byte {
		n.Add(1)
		return f(pw, salt, t, m, p, l)
	}
}

// TestConcurrencyBound holds the computations that start until all callers
// are released, so any caller let past the bound would raise the recorded
// peak; meanwhile a waiting caller must give up when its context ends.
func TestConcurrencyBound(t *testing.T) {
	const bound, callers = 2, 8
	h := New(testParams, bound)
	realIDKey := h.idKey

	var active, peak atomic.Int32
	entered := make(chan struct{}, callers)
	release := make(chan struct{})
	h.idKey = func(pw, salt []byte, tm, m uint32, p uint8, l uint32) []byte {
		n := active.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		active.Add(-1)
		return realIDKey(pw, salt, tm, m, p, l)
	}

	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := h.Hash(t.Context(), "pw"); err != nil {
				t.Error(err)
			}
		})
	}
	for range bound {
		<-entered
	}

	// All slots are taken: a caller whose context ends must give up.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := h.Hash(ctx, "pw")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with cancelled context while full: err = %v, want context.Canceled", err)
	}

	close(release)
	wg.Wait()
	if got := peak.Load(); got != bound {
		t.Errorf("peak concurrent computations = %d, want %d", got, bound)
	}
}

func TestDefaultMaxConcurrent(t *testing.T) {
	if got, want := cap(New(testParams, 0).sem), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("semaphore capacity = %d, want GOMAXPROCS = %d", got, want)
	}
}

// TestGate: work run through Gate holds a slot of the same bound as the
// hashes. While it holds the only slot, neither a hash nor other gated
// work starts: a caller whose context ends gives up without computing.
func TestGate(t *testing.T) {
	h := New(testParams, 1)
	var calls atomic.Int32
	h.idKey = countingIDKey(&calls, h.idKey)

	entered, release, held := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		held <- h.Gate(t.Context(), func() {
			close(entered)
			<-release
		})
	}()
	<-entered

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash while the gate is held: %v, want context.Canceled", err)
	}
	if ok, _, err := h.Verify(ctx, h.dummy.String(), "pw"); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify while the gate is held: %v, %v; want false, context.Canceled", ok, err)
	}
	ran := false
	if err := h.Gate(ctx, func() { ran = true }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Gate while the gate is held: %v, ran %v; want context.Canceled, not run", err, ran)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d hashes computed while the only slot was held", n)
	}

	close(release)
	if err := <-held; err != nil {
		t.Errorf("Gate: %v", err)
	}
	if err := h.Gate(t.Context(), func() { ran = true }); err != nil || !ran {
		t.Errorf("Gate with a free slot: %v, ran %v", err, ran)
	}
	if _, err := h.Hash(t.Context(), "pw"); err != nil || calls.Load() != 1 {
		t.Errorf("Hash with a free slot: %v, %d hashes", err, calls.Load())
	}
}

// TestHashMemoryReused: once the slots have hashed, hashing allocates
// nothing of the size of a hash's memory (x/crypto/argon2 allocated
// MemoryKiB per hash), whether the hash is made or verified, and a hash
// of other parameters (a stored one of more memory) does not leave its
// memory kept.
func TestHashMemoryReused(t *testing.T) {
	p := Params{MemoryKiB: 4096, Iterations: 1, Parallelism: 1}
	h := New(p, 2)
	ctx := t.Context()
	encoded, err := h.Hash(ctx, "warm up the slots")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.free) != 1 {
		t.Fatalf("after one hash %d memories kept, want 1", len(h.free))
	}
	first := <-h.free
	h.free <- first
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	const rounds = 5
	got := allocated(func() {
		for range rounds {
			if _, err := h.Hash(ctx, "correct horse"); err != nil {
				t.Fatal(err)
			}
			if ok, _, err := h.Verify(ctx, encoded, "warm up the slots"); !ok || err != nil {
				t.Fatalf("Verify = %v, %v", ok, err)
			}
		}
	})
	if limit := uint64(p.MemoryKiB) << 10 / 4; got > limit {
		t.Errorf("%d hashes allocated %d bytes, want at most %d (a hash uses %d KiB)", 2*rounds, got, limit, p.MemoryKiB)
	}
	if len(h.free) != 1 {
		t.Fatalf("after hashing one at a time %d memories kept, want 1", len(h.free))
	}
	if m := <-h.free; &m[0] != &first[0] {
		t.Error("hashing one at a time took new memory instead of the kept one")
	} else {
		h.free <- m
	}
	bigger := New(Params{MemoryKiB: 8192, Iterations: 1, Parallelism: 1}, 1)
	big, err := bigger.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(ctx, big, "pw"); !ok || !rehash || err != nil {
		t.Fatalf("Verify(hash of 8 MiB) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	for range len(h.free) {
		m := <-h.free
		if cap(m) != int(argonMemory(p.MemoryKiB, p.Parallelism)) {
			t.Errorf("kept memory of %d blocks, want only the configured %d", cap(m), p.MemoryKiB)
		}
		h.free <- m
	}
	// What the Hasher's cleanup does once it is collected.
	releaseKept(h.free)
	if len(h.free) != 0 {
		t.Errorf("%d memories kept after releaseKept", len(h.free))
	}
}
