package legacy

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkVerifyAtBounds measures one Verify of a wrong password against
// a hash at each cost bound: what the costliest accepted hash costs a
// sign-in. README's figures come from
//
//	go test -run '^$' -bench VerifyAtBounds -benchtime 5x -count 2 ./legacy/
//
// on a quiet machine. cpu-ms/op is the process's CPU time per
// verification (user and system), which a busy machine disturbs less than
// the time; argon2id with several lanes runs them in parallel, so its time
// per verification is lower but its CPU time is the same.
func BenchmarkVerifyAtBounds(b *testing.B) {
	salt := []byte("sekisho-salt-16b")
	const pw = "correct horse"
	pbkdf2Hash := func(iter int) string {
		digest, err := pbkdf2.Key(sha256.New, pw, salt, iter, sha256.Size)
		if err != nil {
			b.Fatal(err)
		}
		b64 := base64.RawStdEncoding.EncodeToString
		return fmt.Sprintf("$pbkdf2-sha256$i=%d$%s$%s", iter, b64(salt), b64(digest))
	}
	for _, bc := range []struct {
		name string
		hash func() string
	}{
		{fmt.Sprintf("bcrypt cost %d", MaxBcryptCost), func() string {
			h, err := bcrypt.GenerateFromPassword([]byte(pw), MaxBcryptCost)
			if err != nil {
				b.Fatal(err)
			}
			return string(h)
		}},
		{fmt.Sprintf("pbkdf2-sha256 %d iterations", MaxPBKDF2Iterations), func() string {
			return pbkdf2Hash(MaxPBKDF2Iterations)
		}},
		{"argon2id 128 MiB t=2 p=1", func() string { return buildArgon2id(pw, salt, 2, MaxArgon2MemoryKiB, 1, 32) }},
		{"argon2id 64 MiB t=4 p=1", func() string { return buildArgon2id(pw, salt, 4, MaxArgon2Work/4, 1, 32) }},
		{"argon2id 64 MiB t=4 p=4", func() string { return buildArgon2id(pw, salt, 4, MaxArgon2Work/4, 4, 32) }},
		{"argon2id 16 MiB t=16 p=1", func() string {
			return buildArgon2id(pw, salt, MaxArgon2Passes, MaxArgon2Work/MaxArgon2Passes, 1, 32)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			hash := bc.hash()
			cpu := cpuTime(b)
			for b.Loop() {
				if ok, err := Verify(hash, "wrong horse"); ok || err != nil {
					b.Fatalf("Verify = %v, %v", ok, err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
