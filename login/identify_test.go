package login

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/storage"
)

// orgStore adds organizations and their members to fakeStore.
type orgStore struct {
	*fakeStore
	orgs    []storage.Organization
	members []storage.User
}

func (s *orgStore) GetOrganizationByCode(_ context.Context, code string) (storage.Organization, error) {
	for _, o := range s.orgs {
		if identifier.UsernameKey(o.Code) == identifier.UsernameKey(code) {
			return o, nil
		}
	}
	return storage.Organization{}, storage.ErrNotFound
}

func (s *orgStore) GetMemberByUsername(_ context.Context, orgID, name string) (storage.User, error) {
	for _, u := range s.members {
		if u.OrganizationID == orgID && identifier.UsernameKey(u.Username) == identifier.UsernameKey(name) {
			return u, nil
		}
	}
	return storage.User{}, storage.ErrNotFound
}

// TestAccountNameModeThrottle: in the account-name mode the throttle's
// account key is the organization with the account name, each in the one
// normalised form: another organization's account of the same name has a
// count of its own, and the same account typed in other widths or cases
// shares one. An unknown organization and an unknown account cost a
// dummy check, like a wrong password costs a real one.
func TestAccountNameModeThrottle(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	st := &orgStore{fakeStore: &fakeStore{requests: map[string]storage.AuthRequest{"r1": {ID: "r1", ExpiresAt: now.Add(time.Hour)}},
		users: map[string]storage.User{}, sessions: map[string]storage.Session{}, counters: map[string]storage.Counter{}},
		orgs: []storage.Organization{{ID: "o1", Code: "HOTEL"}, {ID: "o2", Code: "INN"}},
		members: []storage.User{{ID: "u1", OrganizationID: "o1", Username: "desk", PasswordHash: "hash:right"},
			{ID: "u2", OrganizationID: "o2", Username: "desk", PasswordHash: "hash:other"}}}
	pw := &fakePasswords{}
	f := NewFlow(FlowConfig{Store: st, Hasher: plainHasher{}, Passwords: pw, SessionIdle: time.Hour, SessionAbsolute: time.Hour,
		Identifier: IdentifyOrgUsername, Throttle: Throttle{FreeFailures: 2, BaseDelay: time.Minute, MaxDelay: time.Hour, Window: time.Hour},
		Now: func() time.Time { return now }})
	login := func(org, name, p string) error {
		_, err := f.Login(t.Context(), Credentials{AuthRequestID: "r1", Organization: org, Username: name, Password: p, IP: "192.0.2.1"})
		return err
	}
	for _, c := range []struct{ org, name string }{{"NOPE", "desk"}, {"HOTEL", "nobody"}} {
		before := pw.dummies
		if err := login(c.org, c.name, "x"); !errors.Is(err, ErrInvalidCredentials) || pw.dummies != before+1 {
			t.Errorf("%s/%s: %v, %d dummy checks, want the ordinary answer after one", c.org, c.name, err, pw.dummies-before)
		}
	}
	// Two wrong passwords for HOTEL/desk, typed differently: one count.
	for _, c := range []struct{ org, name string }{{"hotel", "DESK"}, {"ＨＯＴＥＬ", "desk"}} {
		if err := login(c.org, c.name, "wrong"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	key := "login:acct:throttle:hotel\x00desk"
	if c := st.counters[key]; c.Count != 2 || c.NextAllowedAt == nil {
		t.Fatalf("counter %q = %+v, want 2 attempts and a delay", key, c)
	}
	// HOTEL/desk waits; INN/desk has a count of its own.
	if err := login("HOTEL", "desk", "right"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("HOTEL/desk during its delay: %v", err)
	}
	if _, err := f.Login(t.Context(), Credentials{AuthRequestID: "r1", Organization: "INN", Username: "desk", Password: "other"}); err != nil {
		t.Errorf("INN/desk: %v", err)
	}
}
