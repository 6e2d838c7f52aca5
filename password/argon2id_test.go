package password

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The argon2id test vector of RFC 9106, 5.3.
func TestArgon2idRFC9106(t *testing.T) {
	pw := bytes.Repeat([]byte{1}, 32)
	salt := bytes.Repeat([]byte{2}, 16)
	secret := bytes.Repeat([]byte{3}, 8)
	ad := bytes.Repeat([]byte{4}, 12)
	want := "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
	mem := make([]block, argonMemory(32, 4))
	if got := hex.EncodeToString(argon2idKey(mem, pw, salt, secret, ad, 3, 32, 4, 32)); got != want {
		t.Fatalf("tag %s, want %s", got, want)
	}
}

// The hashes match golang.org/x/crypto/argon2's for the parameters a
// stored hash may have, computed in memory left dirty by other hashes
// (as the Hasher reuses it).
func TestArgon2idMatchesXCrypto(t *testing.T) {
	mem := make([]block, argonMemory(2048, 4))
	for i := range mem {
		mem[i][i%blockWords] = uint64(i) * 0x9e3779b97f4a7c15
	}
	for _, tc := range []struct {
		t, m   uint32
		p      uint8
		keyLen uint32
		pw     string
	}{
		{1, 8, 1, 32, "p"},
		{1, 64, 1, 32, "password"},
		{2, 1024, 1, 32, "パスワード"},
		{3, 1000, 1, 16, "m not a multiple of 4"},
		{2, 2048, 2, 32, "two lanes"},
		{1, 517, 3, 64, "three lanes, odd memory"},
		{4, 256, 4, 100, "a key longer than 64 bytes"},
		{1, 4, 1, 32, "less than the minimum memory"},
		{2, 19456 / 16, 1, 32, ""},
	} {
		t.Run(fmt.Sprintf("t=%d,m=%d,p=%d,len=%d", tc.t, tc.m, tc.p, tc.keyLen), func(t *testing.T) {
			salt := []byte("somesalt" + tc.pw)
			want := argon2.IDKey([]byte(tc.pw), salt, tc.t, tc.m, tc.p, tc.keyLen)
			got := argon2idKey(mem, []byte(tc.pw), salt, nil, nil, tc.t, tc.m, tc.p, tc.keyLen)
			if !bytes.Equal(got, want) {
				t.Fatalf("got %x, want %x", got, want)
			}
		})
	}
}

func BenchmarkArgon2id(b *testing.B) {
	p := DefaultParams()
	mem := make([]block, argonMemory(p.MemoryKiB, p.Parallelism))
	b.Run("sekisho", func(b *testing.B) {
		for b.Loop() {
			argon2idKey(mem, []byte("password"), []byte("saltsaltsaltsalt"), nil, nil, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
		}
	})
	b.Run("x/crypto", func(b *testing.B) {
		for b.Loop() {
			argon2.IDKey([]byte("password"), []byte("saltsaltsaltsalt"), p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
		}
	})
}
