package login

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// fakeStore keeps just what the flow touches.
type fakeStore struct {
	Store
	requests map[string]storage.AuthRequest
	users    map[string]storage.User
	sessions map[string]storage.Session // by token hash
	counters map[string]storage.Counter
	done     []storage.LoginCompletion
}

func (f *fakeStore) GetAuthRequest(_ context.Context, id string) (storage.AuthRequest, error) {
	a, ok := f.requests[id]
	if !ok {
		return a, storage.ErrNotFound
	}
	return a, nil
}
func (f *fakeStore) CompleteLogin(_ context.Context, c storage.LoginCompletion) error {
	f.done = append(f.done, c)
	return nil
}
func (f *fakeStore) GetUser(_ context.Context, id string) (storage.User, error) {
	for _, u := range f.users {
		if u.ID == id {
			return u, nil
		}
	}
	return storage.User{}, storage.ErrNotFound
}
func (f *fakeStore) GetUserByEmail(_ context.Context, e string) (storage.User, error) {
	u, ok := f.users[strings.ToLower(e)]
	if !ok {
		return u, storage.ErrNotFound
	}
	return u, nil
}
func (f *fakeStore) GetSessionByTokenHash(_ context.Context, h string) (storage.Session, error) {
	s, ok := f.sessions[h]
	if !ok {
		return s, storage.ErrNotFound
	}
	return s, nil
}
func (f *fakeStore) TouchSession(context.Context, string, time.Time, time.Time) error { return nil }
func (f *fakeStore) TakeAttempt(_ context.Context, now time.Time, limits ...storage.Limit) (bool, error) {
	for _, l := range limits {
		if c := f.counters[l.Key]; c.NextAllowedAt != nil && now.Before(*c.NextAllowedAt) {
			return false, nil
		}
	}
	for _, l := range limits {
		c := f.counters[l.Key]
		if c.Count == 0 || c.WindowStart.Before(now.Add(-l.Window)) {
			c.Count, c.WindowStart = 0, now
		}
		c.Key, c.Count, c.Last, c.NextAllowedAt = l.Key, c.Count+1, now, nil
		if next, ok := l.NextAllowed(c.Count, now, c.WindowStart); ok {
			c.NextAllowedAt = &next
		}
		f.counters[l.Key] = c
	}
	return true, nil
}
func (f *fakeStore) ReturnAttempt(_ context.Context, keys ...string) error {
	for _, k := range keys {
		if c, ok := f.counters[k]; ok {
			c.Count, c.NextAllowedAt = max(c.Count-1, 0), nil
			f.counters[k] = c
		}
	}
	return nil
}
func (f *fakeStore) ResetCounters(_ context.Context, keys []string) error {
	for _, k := range keys {
		delete(f.counters, k)
	}
	return nil
}
func (f *fakeStore) AddAuditEvent(context.Context, storage.AuditEvent) error { return nil }

type plainHasher struct{}

func (plainHasher) Hash(kind, v string) string { return kind + ":" + v }

type fakePasswords struct{ dummies int }

func (p *fakePasswords) Verify(_ context.Context, phc, pw string) (bool, bool, error) {
	return phc == "hash:"+pw, false, nil
}
func (p *fakePasswords) VerifyDummy(context.Context, string)               { p.dummies++ }
func (p *fakePasswords) Hash(_ context.Context, pw string) (string, error) { return "hash:" + pw, nil }
func (p *fakePasswords) Gate(_ context.Context, work func()) error {
	work()
	return nil
}

func TestStartDecisions(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	hour := time.Hour
	zero := time.Duration(0)
	alice := storage.User{ID: "u1", Email: "alice@example.com", PasswordHash: "hash:pw"}
	session := storage.Session{ID: "s1", UserID: "u1", AuthTime: now.Add(-30 * time.Minute), AMR: []string{"pwd"},
		IdleExpiresAt: now.Add(hour), AbsoluteExpiresAt: now.Add(hour)}
	cases := []struct {
		name      string
		req       storage.AuthRequest
		cookie    string
		mustChg   bool
		policy    string // otp.policy
		otpPassed bool   // the session passed the emailed step
		want      Decision
		wantError string
	}{
		{name: "no session shows the form", req: storage.AuthRequest{}, want: ShowForm},
		{name: "session finishes the request", cookie: "c", want: Respond},
		{name: "prompt=none without session", req: storage.AuthRequest{Prompt: []string{"none"}}, want: RedirectError, wantError: "login_required"},
		{name: "prompt=none with session", req: storage.AuthRequest{Prompt: []string{"none"}}, cookie: "c", want: Respond},
		{name: "prompt=none, change due", req: storage.AuthRequest{Prompt: []string{"none"}}, cookie: "c", mustChg: true, want: RedirectError, wantError: "interaction_required"},
		{name: "prompt=login", req: storage.AuthRequest{Prompt: []string{"login"}}, cookie: "c", want: ShowForm},
		{name: "max_age passed", req: storage.AuthRequest{MaxAge: &zero}, cookie: "c", want: ShowForm},
		{name: "max_age not passed", req: storage.AuthRequest{MaxAge: &hour}, cookie: "c", want: Respond},
		{name: "login_hint of another user", req: storage.AuthRequest{LoginHint: "bob@example.com"}, cookie: "c", want: ShowForm},
		{name: "login_hint of the session's user", req: storage.AuthRequest{LoginHint: "ALICE@example.com"}, cookie: "c", want: Respond},
		{name: "unknown cookie", cookie: "other", want: ShowForm},
		{name: "change due shows the form", cookie: "c", mustChg: true, want: ShowForm},
		{name: "otp always, session without it", cookie: "c", policy: OTPAlways, want: ShowForm},
		{name: "otp always, prompt=none, session without it", req: storage.AuthRequest{Prompt: []string{"none"}}, cookie: "c", policy: OTPAlways, want: RedirectError, wantError: "interaction_required"},
		{name: "otp always, session passed it", req: storage.AuthRequest{Prompt: []string{"none"}}, cookie: "c", policy: OTPAlways, otpPassed: true, want: Respond},
		{name: "otp new_device, session without it", req: storage.AuthRequest{Prompt: []string{"none"}}, cookie: "c", policy: OTPNewDevice, want: Respond},
		{name: "acr_values asks for the code", req: storage.AuthRequest{ACRValues: []string{ACRPasswordEmailCode}}, cookie: "c", want: ShowForm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := alice
			u.MustChangePassword = c.mustChg
			c.req.ID, c.req.ClientID, c.req.ExpiresAt = "r1", "web", now.Add(hour)
			sess := session
			if c.otpPassed {
				sess.AMR = []string{AMRPassword, AMROTP}
			}
			st := &fakeStore{requests: map[string]storage.AuthRequest{"r1": c.req},
				users: map[string]storage.User{u.Email: u}, sessions: map[string]storage.Session{"session:c": sess},
				counters: map[string]storage.Counter{}}
			f := NewFlow(FlowConfig{Store: st, Hasher: plainHasher{}, Passwords: &fakePasswords{}, SessionIdle: hour,
				SessionAbsolute: hour, OTP: OTPConfig{Policy: c.policy}, Now: func() time.Time { return now }})
			got, err := f.Start(t.Context(), "r1", c.cookie)
			if err != nil {
				t.Fatal(err)
			}
			if got.Decision != c.want || got.OAuthError != c.wantError {
				t.Errorf("decision %v %q, want %v %q", got.Decision, got.OAuthError, c.want, c.wantError)
			}
			if (c.want == Respond) != (len(st.done) == 1) {
				t.Errorf("completions %d", len(st.done))
			} else if c.want == Respond && (st.done[0].SessionID != "s1" || !st.done[0].AuthTime.Equal(session.AuthTime)) {
				t.Errorf("completed with %+v, want the session's facts", st.done[0])
			}
		})
	}
}

func TestLoginThrottleAndSameAnswer(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	clock := now
	st := &fakeStore{requests: map[string]storage.AuthRequest{"r1": {ID: "r1", ExpiresAt: now.Add(time.Hour)}},
		users:    map[string]storage.User{"alice@example.com": {ID: "u1", Email: "alice@example.com", PasswordHash: "hash:right"}},
		sessions: map[string]storage.Session{}, counters: map[string]storage.Counter{}}
	pw := &fakePasswords{}
	f := NewFlow(FlowConfig{Store: st, Hasher: plainHasher{}, Passwords: pw, SessionIdle: time.Hour, SessionAbsolute: time.Hour,
		Throttle: Throttle{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour},
		Now:      func() time.Time { return clock }})
	in := func(email, p string) error {
		_, err := f.Login(t.Context(), Credentials{AuthRequestID: "r1", Email: email, Password: p, IP: "192.0.2.1"})
		return err
	}
	if err := in("nobody@example.com", "x"); err != ErrInvalidCredentials || pw.dummies != 1 {
		t.Errorf("unknown account: %v, dummy hashes %d (want the same cost as a real check)", err, pw.dummies)
	}
	for range 3 {
		if err := in("alice@example.com", "wrong"); err != ErrInvalidCredentials {
			t.Fatalf("wrong password: %v", err)
		}
	}
	for range 5 {
		if err := in("alice@example.com", "right"); err != ErrInvalidCredentials {
			t.Errorf("right password during the delay: %v, want the ordinary answer", err)
		}
	}
	if pw.dummies != 6 {
		t.Errorf("%d dummy hashes, want one per refused attempt too (the same cost as a check)", pw.dummies)
	}
	// Refused attempts neither counted nor moved the delay: one base
	// delay after the third failure, the right password works.
	clock = clock.Add(time.Second)
	if err := in("ALICE@example.com ", "right"); err != nil {
		t.Errorf("after the delay: %v", err)
	}
	if _, ok := st.counters["login:acct:throttle:alice@example.com"]; ok {
		t.Error("a successful sign-in kept the account's failure count")
	}
}

// The fake's accounts have no organization of their own and no strong
// factors.
func (f *fakeStore) GetOrganization(context.Context, string) (storage.Organization, error) {
	return storage.Organization{}, storage.ErrNotFound
}
func (f *fakeStore) GetFactors(context.Context, string) (storage.UserFactors, error) {
	return storage.UserFactors{}, nil
}
