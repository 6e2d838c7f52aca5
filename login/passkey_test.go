package login

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/storage/gormstore"
	"github.com/sekisho/sekisho/storage/gormstore/gormstoretest"
)

// The relying party follows the issuer; an IP address cannot be one, so
// passkeys are off there.
func TestRelyingParty(t *testing.T) {
	for _, tc := range []struct {
		issuer string
		on     bool
	}{
		{"http://localhost:8080", true},
		{"https://login.example.com", true},
		{"http://127.0.0.1:8080", false},
		{"https://[::1]:8443", false},
		{"", false},
	} {
		t.Run(tc.issuer, func(t *testing.T) {
			f := NewFlow(FlowConfig{Account: AccountConfig{BaseURL: tc.issuer}})
			if f.PasskeysOn() != tc.on {
				t.Fatalf("PasskeysOn = %v, want %v", f.PasskeysOn(), tc.on)
			}
			if tc.on && (f.rp.Config.RPID == "" || len(f.rp.Config.RPOrigins) != 1 || f.rp.Config.RPOrigins[0] != tc.issuer) {
				t.Errorf("relying party %q origins %v", f.rp.Config.RPID, f.rp.Config.RPOrigins)
			}
		})
	}
}

// A ceremony's answer is accepted once, within ceremonyTTL, for its
// purpose, from the browser (step cookie) that began it; on the real
// store.
func TestCeremonyClaim(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		step    string // the answer's step cookie ("": the one that began it)
		purpose string
		later   time.Duration
		twice   bool
		want    error
	}{
		{name: "right", purpose: storage.CeremonyLogin},
		{name: "another browser", step: "other-browser", purpose: storage.CeremonyLogin, want: ErrCeremonyExpired},
		{name: "no step cookie", step: "-", purpose: storage.CeremonyLogin, want: ErrCeremonyExpired},
		{name: "another purpose", purpose: storage.CeremonyRegister, want: ErrCeremonyExpired},
		{name: "expired", purpose: storage.CeremonyLogin, later: ceremonyTTL + time.Second, want: ErrCeremonyExpired},
		{name: "just in time", purpose: storage.CeremonyLogin, later: ceremonyTTL - time.Second},
		{name: "replayed", purpose: storage.CeremonyLogin, twice: true, want: ErrCeremonyExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := now
			f := NewFlow(FlowConfig{Store: gormstoretest.NewSQLite(t), Hasher: plainHasher{}, Now: func() time.Time { return clock },
				Account: AccountConfig{BaseURL: "http://localhost:8080"}})
			c, err := f.startCeremony(t.Context(), storage.CeremonyLogin, "", "", &webauthn.SessionData{Challenge: "abc"}, map[string]string{}, "")
			if err != nil || c.Token == "" || c.StepToken == "" {
				t.Fatalf("start: %+v %v", c, err)
			}
			ans := PasskeyAnswer{Ceremony: c.Token, StepToken: c.StepToken}
			switch tc.step {
			case "-":
				ans.StepToken = ""
			case "":
			default:
				ans.StepToken = tc.step
			}
			clock = clock.Add(tc.later)
			if tc.twice {
				if _, _, err := f.claimCeremony(t.Context(), ans, tc.purpose); err != nil {
					t.Fatalf("first use: %v", err)
				}
			}
			_, sd, err := f.claimCeremony(t.Context(), ans, tc.purpose)
			if !errors.Is(err, tc.want) {
				t.Fatalf("claim: %v, want %v", err, tc.want)
			}
			if err == nil && sd.Challenge != "abc" {
				t.Errorf("session data %+v", sd)
			}
		})
	}
}

// Passkey names are trimmed display names of 1 to 64 characters.
func TestPasskeyName(t *testing.T) {
	for in, ok := range map[string]bool{"Work laptop": true, " 仕事用 PC ": true, "": false, "   ": false,
		"a\x00b": false, strings.Repeat("a", 65): false, strings.Repeat("a", 64): true} {
		if _, err := passkeyName(in); (err == nil) != ok {
			t.Errorf("passkeyName(%q): %v", in, err)
		}
	}
}

// TestPasskeyBeginCap: fifty passwordless begins of one sign-in at once,
// on two replicas sharing the database, store at most maxPasskeyBegins
// ceremonies; the rest are refused.
func TestPasskeyBeginCap(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(testing.TB) *gormstore.Store
	}{{"sqlite", func(t testing.TB) *gormstore.Store { return gormstoretest.NewSQLite(t) }},
		{"postgres", func(t testing.TB) *gormstore.Store { return gormstoretest.NewPostgres(t) }}} {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			now := time.Now().UTC()
			a := storage.AuthRequest{ID: "ar-1", ClientID: "web", RedirectURI: "http://localhost/cb", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := st.CreateAuthRequest(t.Context(), a); err != nil {
				t.Fatal(err)
			}
			replicas := make([]*Flow, 2)
			for i := range replicas {
				replicas[i] = NewFlow(FlowConfig{Store: st, Hasher: plainHasher{}, Now: time.Now, Account: AccountConfig{BaseURL: "http://localhost:8080"}})
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, refused := 0, 0
			for i := range 50 {
				wg.Go(func() {
					_, err := replicas[i%2].BeginPasskeySignIn(t.Context(), a.ID, "")
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, ErrTooManyAttempts):
						refused++
					default:
						t.Errorf("begin: %v", err)
					}
				})
			}
			wg.Wait()
			if ok != maxPasskeyBegins || refused != 50-maxPasskeyBegins {
				t.Errorf("%d begun, %d refused; want %d and %d", ok, refused, maxPasskeyBegins, 50-maxPasskeyBegins)
			}
		})
	}
}
