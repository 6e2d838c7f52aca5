// Package password hashes and verifies user passwords with argon2id, stored
// as PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash), after NFKC
// normalisation. A Hasher bounds how many hashes run at once, since each
// one holds MemoryKiB of memory; Gate puts other password work (imported
// hashes) under the same bound.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Length limits of a normalised password.
const (
	MaxRunes = 128
	MaxBytes = 1024
)

var (
	// ErrTooLong is returned for a password over MaxRunes characters or
	// MaxBytes bytes after normalisation.
	ErrTooLong = fmt.Errorf("password: longer than %d characters or %d bytes", MaxRunes, MaxBytes)
	// ErrMalformed is returned by Verify for a string that is not an
	// argon2id PHC string this package can check.
	ErrMalformed = errors.New("password: malformed argon2id hash")
)

// Params are the argon2id cost parameters. KeyLen and SaltLen must lie
// between 8 and 128 bytes, the range Verify accepts.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	KeyLen      uint32 // hash length in bytes
	SaltLen     uint32 // salt length in bytes
}

// DefaultParams returns the OWASP minimum argon2id parameters (19 MiB, t=2,
// p=1) with a 32-byte hash and a 16-byte salt.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, KeyLen: 32, SaltLen: 16}
}

// Bounds on parameters read from a stored hash, so that a corrupt or hostile
// string cannot make Verify allocate or loop without limit.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 64
	minLen        = 8
	maxLen        = 128
)

// Hasher hashes and verifies passwords with fixed parameters, running at
// most a bounded number of argon2id computations at once. It is safe for
// concurrent use.
type Hasher struct {
	params Params
	sem    chan struct{}
	dummy  phc // what VerifyDummy checks against
	// free holds the memory of finished hashes for the next ones, at most
	// one hash's worth per slot, so that the memory of hashing stays at
	// what the slots use at once instead of a fresh allocation per hash
	// for the collector to reclaim.
	free chan []block
	// idKey is h.key; tests replace it to observe concurrency.
	idKey func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
}

// New returns a Hasher that hashes with p, zero fields taking the value of
// DefaultParams(), and runs at most maxConcurrent hashes at once
// (runtime.GOMAXPROCS(0) if maxConcurrent ≤ 0).
func New(p Params, maxConcurrent int) *Hasher {
	def := DefaultParams()
	setDefault(&p.MemoryKiB, def.MemoryKiB)
	setDefault(&p.Iterations, def.Iterations)
	setDefault(&p.Parallelism, def.Parallelism)
	setDefault(&p.KeyLen, def.KeyLen)
	setDefault(&p.SaltLen, def.SaltLen)
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{params: p, sem: make(chan struct{}, maxConcurrent), free: make(chan []block, maxConcurrent)}
	h.idKey = h.key
	// The memory a Hasher keeps lives outside the heap: give it back when
	// the Hasher is collected (one made for a single hash at start-up).
	runtime.AddCleanup(h, releaseKept, h.free)
	// VerifyDummy spends the time of computing a hash with these
	// parameters; what it compares the result with does not matter, so
	// the dummy is random bytes rather than a hash computed at start-up
	// (which left MemoryKiB of garbage in an idle process).
	h.dummy = phc{Params: p, salt: randomBytes(p.SaltLen), hash: randomBytes(p.KeyLen)}
	return h
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Normalize returns pw in Unicode NFKC form, the form that is hashed and
// checked against the password policy, or ErrTooLong.
func Normalize(pw string) (string, error) {
	// NFKC composition shrinks a string at most threefold (Hangul jamo), so
	// longer input can be refused before normalising it.
	if len(pw) > 3*MaxBytes {
		return "", ErrTooLong
	}
	pw = norm.NFKC.String(pw)
	if len(pw) > MaxBytes || utf8.RuneCountInString(pw) > MaxRunes {
		return "", ErrTooLong
	}
	return pw, nil
}

// Hash normalises pw and returns its argon2id PHC string. It waits for a
// free slot, returning ctx.Err() if ctx ends first.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	pw, err := Normalize(pw)
	if err != nil {
		return "", err
	}
	p := phc{Params: h.params, salt: randomBytes(h.params.SaltLen)}
	if p.hash, err = h.derive(ctx, pw, p); err != nil {
		return "", err
	}
	return p.String(), nil
}

// Verify reports whether pw matches the PHC string encoded, using the
// parameters written in it, and whether the hash should be replaced because
// its parameters differ from h's (meaningful when ok). A malformed string
// gives ErrMalformed; an over-long pw gives ErrTooLong.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (ok, needsRehash bool, err error) {
	stored, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	pw, err = Normalize(pw)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, pw, stored)
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, stored.hash) != 1 {
		return false, false, nil
	}
	return true, stored.Params != h.params, nil
}

// VerifyDummy spends the time of a Verify against a hash made with h's
// parameters, and discards the result. Call it when the account does not
// exist, so that response time does not reveal that.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) {
	if pw, err := Normalize(pw); err == nil {
		h.derive(ctx, pw, h.dummy)
	}
}

// Gate runs work while holding one of the slots that bound how many
// hashes run at once, the slots Hash, Verify and VerifyDummy take, so
// that other costly password work (checking an imported hash of another
// format) shares the one bound. It waits for a free slot, returning
// ctx.Err() without running work if ctx ends first.
func (h *Hasher) Gate(ctx context.Context, work func()) error {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.sem }()
	work()
	return nil
}

// derive computes the argon2id hash of pw with p's salt and parameters,
// under the gate.
func (h *Hasher) derive(ctx context.Context, pw string, p phc) ([]byte, error) {
	var key []byte
	err := h.Gate(ctx, func() {
		key = h.idKey([]byte(pw), p.salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
	})
	return key, err
}

// key is argon2id in memory kept from an earlier hash when there is
// some. Memory is kept only in the size of the configured parameters,
// at most one per slot (hashMemory): a stored hash with other parameters
// borrows memory of the heap once.
func (h *Hasher) key(pw, salt []byte, t, memKiB uint32, lanes uint8, keyLen uint32) []byte {
	need := int(argonMemory(memKiB, lanes))
	kept := int(argonMemory(h.params.MemoryKiB, h.params.Parallelism))
	var mem []block
	select {
	case mem = <-h.free:
	default:
		if need == kept {
			mem = hashMemory(kept)
		}
	}
	borrowed := cap(mem) < need
	if borrowed {
		h.keep(mem) // a slot's memory stays for the next hash
		mem = make([]block, need)
	}
	key := argon2idKey(mem, pw, salt, nil, nil, t, memKiB, lanes, keyLen)
	if !borrowed {
		h.keep(mem)
	}
	return key
}

// releaseKept unmaps the memory kept in free.
func releaseKept(free chan []block) {
	for {
		select {
		case m := <-free:
			unmapHashMemory(m)
		default:
			return
		}
	}
}

// keep puts mem back for the next hash. The gate lets at most cap(free)
// hashes run, so there is always room; were there none, mem is dropped
// rather than the hash made to wait.
func (h *Hasher) keep(mem []block) {
	if mem == nil {
		return
	}
	select {
	case h.free <- mem:
	default:
		unmapHashMemory(mem)
	}
}

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}

// phc is a parsed argon2id PHC string.
type phc struct {
	Params
	salt, hash []byte
}

var b64 = base64.RawStdEncoding

func (p phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(p.salt), b64.EncodeToString(p.hash))
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash".
func parsePHC(s string) (phc, error) {
	var p phc
	fields := strings.Split(s, "$")
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" {
		return p, fmt.Errorf("%w: not of the form $argon2id$v=19$m=…,t=…,p=…$salt$hash", ErrMalformed)
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, fmt.Errorf("%w: unsupported version %q", ErrMalformed, fields[2])
	}
	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return p, fmt.Errorf("%w: parameters %q are not m=…,t=…,p=…", ErrMalformed, fields[3])
	}
	m, errM := parseParam(params[0], "m", 32)
	t, errT := parseParam(params[1], "t", 32)
	par, errP := parseParam(params[2], "p", 8)
	if err := errors.Join(errM, errT, errP); err != nil {
		return p, err
	}
	p.MemoryKiB, p.Iterations, p.Parallelism = uint32(m), uint32(t), uint8(par)
	if p.MemoryKiB > maxMemoryKiB || p.Iterations < 1 || p.Iterations > maxIterations || p.Parallelism < 1 {
		return p, fmt.Errorf("%w: parameters %q out of range", ErrMalformed, fields[3])
	}
	var err error
	if p.salt, err = b64.DecodeString(fields[4]); err != nil || len(p.salt) < minLen || len(p.salt) > maxLen {
		return p, fmt.Errorf("%w: bad salt", ErrMalformed)
	}
	if p.hash, err = b64.DecodeString(fields[5]); err != nil || len(p.hash) < minLen || len(p.hash) > maxLen {
		return p, fmt.Errorf("%w: bad hash", ErrMalformed)
	}
	p.SaltLen, p.KeyLen = uint32(len(p.salt)), uint32(len(p.hash))
	return p, nil
}

// parseParam parses "name=decimal" into an unsigned integer of bits bits.
func parseParam(s, name string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: want %s=… in place of %q", ErrMalformed, name, s)
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not a number", ErrMalformed, name, v)
	}
	return n, nil
}
