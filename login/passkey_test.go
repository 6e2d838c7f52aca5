package login

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/sekisho/sekisho/storage"
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
