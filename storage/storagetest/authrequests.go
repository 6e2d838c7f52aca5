package storagetest

import (
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func testAuthRequestRoundTrip(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	full := newAuthRequest("full")
	full.Prompt = []string{"login", "consent"}
	full.MaxAge = new(10 * time.Minute)
	full.LoginHint = "alice@example.com"
	full.HintUserID = "u1"
	full.Organization = "H-1234"
	full.UILocales = []string{"ja", "en"}
	full.ACRValues = []string{"urn:sekisho:acr:mfa"}
	full.BrowserHash = "browser-hash"
	full.UserID = "u1"
	full.SessionID = "s1"
	full.AuthTime = t0.Add(time.Minute)
	full.AMR = []string{"pwd", "otp"}
	full.ACR = "urn:sekisho:acr:mfa"
	full.CompletedAt = new(t0.Add(time.Minute))
	full.CodeHash = "code-hash-full"
	full.CodeExpiresAt = t0.Add(2 * time.Minute)
	full.CodeUsedAt = new(t0.Add(90 * time.Second))

	nilLists := storage.AuthRequest{ID: "nil-lists", ClientID: "c", RedirectURI: "https://x", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	emptyLists := nilLists
	emptyLists.ID = "empty-lists"
	emptyLists.Scopes, emptyLists.Prompt, emptyLists.UILocales, emptyLists.ACRValues, emptyLists.AMR = []string{}, []string{}, []string{}, []string{}, []string{}
	zeroMaxAge := nilLists
	zeroMaxAge.ID = "max-age-zero"
	zeroMaxAge.MaxAge = new(time.Duration(0)) // max_age=0 is not "not asked"
	specials := nilLists
	specials.ID = "specials"
	specials.Scopes = []string{"a;b", `quote"d`, "space d", "日本語", ""}

	for _, a := range []storage.AuthRequest{full, nilLists, emptyLists, zeroMaxAge, specials} {
		t.Run(a.ID, func(t *testing.T) {
			must(t, s.CreateAuthRequest(ctx, a))
			got, err := s.GetAuthRequest(ctx, a.ID)
			must(t, err)
			diff(t, "GetAuthRequest", a, got)
			if (a.MaxAge == nil) != (got.MaxAge == nil) {
				t.Errorf("MaxAge = %v, want %v", got.MaxAge, a.MaxAge)
			}
		})
	}
	t.Run("duplicate id", func(t *testing.T) {
		wantErr(t, "CreateAuthRequest", s.CreateAuthRequest(ctx, newAuthRequest("full")), storage.ErrAlreadyExists)
	})
}

func testAuthRequestLookups(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	withCode := newAuthRequest("ar1")
	withCode.CodeHash = "code-1"
	withCode.CodeExpiresAt = t0.Add(time.Minute)
	must(t, s.CreateAuthRequest(ctx, withCode))
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar2"))) // no code yet
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar3"))) // no code either

	tests := []struct {
		name string
		get  func() (storage.AuthRequest, error)
		want storage.AuthRequest
		err  error
	}{
		{"by id", func() (storage.AuthRequest, error) { return s.GetAuthRequest(ctx, "ar1") }, withCode, nil},
		{"by missing id", func() (storage.AuthRequest, error) { return s.GetAuthRequest(ctx, "nope") }, storage.AuthRequest{}, storage.ErrNotFound},
		{"by code", func() (storage.AuthRequest, error) { return s.GetAuthRequestByCode(ctx, "code-1") }, withCode, nil},
		{"by unknown code", func() (storage.AuthRequest, error) { return s.GetAuthRequestByCode(ctx, "code-2") }, storage.AuthRequest{}, storage.ErrNotFound},
		{"by empty code", func() (storage.AuthRequest, error) { return s.GetAuthRequestByCode(ctx, "") }, storage.AuthRequest{}, storage.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			wantErr(t, tt.name, err, tt.err)
			diff(t, tt.name, tt.want, got)
		})
	}
}

func testSetAuthCode(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	a := newAuthRequest("ar1")
	must(t, s.CreateAuthRequest(ctx, a))
	exp := t0.Add(time.Minute)
	must(t, s.SetAuthCode(ctx, "ar1", "code-1", exp))
	got, err := s.GetAuthRequestByCode(ctx, "code-1")
	must(t, err)
	want := a
	want.CodeHash, want.CodeExpiresAt = "code-1", exp
	diff(t, "request with its code", want, got)
	wantErr(t, "SetAuthCode(unknown request)", s.SetAuthCode(ctx, "nope", "code-2", exp), storage.ErrNotFound)

	// Once the code is exchanged, no other code is given.
	used := t0.Add(30 * time.Second)
	_, err = s.UpdateAuthRequest(ctx, "ar1", func(a storage.AuthRequest) (storage.AuthRequest, error) {
		a.CodeUsedAt = &used
		return a, nil
	})
	must(t, err)
	wantErr(t, "SetAuthCode(exchanged)", s.SetAuthCode(ctx, "ar1", "code-3", exp.Add(time.Hour)), storage.ErrAlreadyUsed)
	if _, err := s.GetAuthRequestByCode(ctx, "code-3"); err == nil {
		t.Error("a refused SetAuthCode stored its code")
	}
}

func testUpdateAuthRequest(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	a := newAuthRequest("ar1")
	must(t, s.CreateAuthRequest(ctx, a))

	t.Run("Change", func(t *testing.T) {
		want := a
		want.BrowserHash = "browser-1"
		want.CodeHash = "code-1"
		want.CodeExpiresAt = t0.Add(time.Minute)
		want.MaxAge = new(time.Hour)
		want.Prompt = []string{"none"}
		got, err := s.UpdateAuthRequest(ctx, "ar1", func(old storage.AuthRequest) (storage.AuthRequest, error) {
			diff(t, "request passed to fn", a, old)
			old.BrowserHash, old.CodeHash, old.CodeExpiresAt, old.MaxAge, old.Prompt = want.BrowserHash, want.CodeHash, want.CodeExpiresAt, want.MaxAge, want.Prompt
			return old, nil
		})
		must(t, err)
		diff(t, "UpdateAuthRequest result", want, got)
		stored, err := s.GetAuthRequestByCode(ctx, "code-1")
		must(t, err)
		diff(t, "stored request", want, stored)
		a = want
	})

	tests := []struct {
		name string
		id   string
		fn   func(storage.AuthRequest) (storage.AuthRequest, error)
		want error
	}{
		{"abort", "ar1", func(old storage.AuthRequest) (storage.AuthRequest, error) {
			old.BrowserHash = "other"
			return old, storage.ErrConflict
		}, storage.ErrConflict},
		{"missing", "nope", func(old storage.AuthRequest) (storage.AuthRequest, error) { return old, nil }, storage.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateAuthRequest(ctx, tt.id, tt.fn)
			wantErr(t, "UpdateAuthRequest", err, tt.want)
			got, err := s.GetAuthRequest(ctx, "ar1")
			must(t, err)
			diff(t, "unchanged request", a, got)
		})
	}

	t.Run("clear MaxAge and lists", func(t *testing.T) {
		got, err := s.UpdateAuthRequest(ctx, "ar1", func(old storage.AuthRequest) (storage.AuthRequest, error) {
			old.MaxAge, old.Prompt, old.Scopes = nil, nil, nil
			return old, nil
		})
		must(t, err)
		stored, err := s.GetAuthRequest(ctx, "ar1")
		must(t, err)
		diff(t, "stored request", got, stored)
		if stored.MaxAge != nil || len(stored.Scopes) != 0 {
			t.Errorf("MaxAge = %v, Scopes = %v; want nil, empty", stored.MaxAge, stored.Scopes)
		}
	})
}

func testCompleteLogin(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(5 * time.Minute)
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar1")))
	old := newSession("old", "u1")
	must(t, s.CreateSession(ctx, old))
	oldToken := newAccessToken("at-old")
	oldToken.SessionID = "old"
	must(t, s.CreateAccessToken(ctx, oldToken))

	fresh := newSession("new", "u1")
	fresh.AuthTime, fresh.CreatedAt, fresh.LastSeenAt = now, now, now
	audit := storage.AuditEvent{Time: now, Type: "login", UserID: "u1", ClientID: "client-1", IP: "192.0.2.1", Outcome: "success"}
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{
		AuthRequestID: "ar1",
		UserID:        "u1",
		SessionID:     "new",
		AuthTime:      now,
		AMR:           []string{"pwd", "otp"},
		ACR:           "urn:sekisho:acr:mfa",
		Now:           now,
		NewSession:    &fresh,
		EndSession:    &storage.SessionEnd{SessionID: "old", Now: now, Reason: storage.EndReplaced},
		Audit:         &audit,
	}))

	want := newAuthRequest("ar1")
	want.UserID, want.SessionID, want.AuthTime = "u1", "new", now
	want.AMR, want.ACR, want.CompletedAt = []string{"pwd", "otp"}, "urn:sekisho:acr:mfa", &now
	got, err := s.GetAuthRequest(ctx, "ar1")
	must(t, err)
	diff(t, "completed auth request", want, got)
	if !got.Done() {
		t.Error("auth request not Done")
	}

	gotSession, err := s.GetSession(ctx, "new")
	must(t, err)
	diff(t, "new session", fresh, gotSession)
	checkSessionEnded(t, s, "old", &now)
	checkAccessRevoked(t, s, "at-old", &now)

	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{UserID: "u1"})
	must(t, err)
	if len(events) != 1 || events[0].ID == "" {
		t.Fatalf("audit events = %+v, want one with an ID", events)
	}
	audit.ID = events[0].ID
	diff(t, "audit event", []storage.AuditEvent{audit}, events)

	// Without session changes or audit: only the request changes.
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar2")))
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar2", UserID: "u1", SessionID: "new", AuthTime: now, Now: now}))
	got, err = s.GetAuthRequest(ctx, "ar2")
	must(t, err)
	if !got.Done() || got.SessionID != "new" {
		t.Errorf("ar2 = %+v, want done in session new", got)
	}
}

// testCompleteLoginLastLogin: an interactive completion moves the
// user's LastLoginAt in its transaction; the reuse of a session does not;
// an interactive completion for an unknown user writes nothing.
func testCompleteLoginLastLogin(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "a@example.com")))
	first := t0.Add(5 * time.Minute)
	for _, id := range []string{"ar1", "ar2", "ar3"} {
		must(t, s.CreateAuthRequest(ctx, newAuthRequest(id)))
	}
	lastLogin := func() *time.Time {
		t.Helper()
		u, err := s.GetUser(ctx, "u1")
		must(t, err)
		return u.LastLoginAt
	}
	if got := lastLogin(); got != nil {
		t.Fatalf("LastLoginAt of a new user = %v, want nil", got)
	}
	sess := newSession("s1", "u1")
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar1", UserID: "u1", SessionID: "s1",
		AuthTime: first, Now: first, NewSession: &sess, Interactive: true}))
	if got := lastLogin(); got == nil || !got.Equal(first) {
		t.Errorf("LastLoginAt after an interactive sign-in = %v, want %v", got, first)
	}
	// The SSO session answers another request: the clock stays.
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar2", UserID: "u1", SessionID: "s1",
		AuthTime: first, Now: first.Add(time.Hour)}))
	if got := lastLogin(); got == nil || !got.Equal(first) {
		t.Errorf("LastLoginAt after a session reuse = %v, want %v", got, first)
	}
	// An unknown user: nothing is written, the request stays open.
	err := s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar3", UserID: "nobody", SessionID: "s1",
		AuthTime: first, Now: first.Add(2 * time.Hour), Interactive: true})
	wantErr(t, "CompleteLogin(unknown user)", err, storage.ErrNotFound)
	if a, err := s.GetAuthRequest(ctx, "ar3"); err != nil || a.Done() {
		t.Errorf("ar3 after a failed completion: done %v, err %v", a.Done(), err)
	}
}

// testCompleteLoginUnknownRequest checks that nothing is written when the
// auth request does not exist.
func testCompleteLoginUnknownRequest(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(time.Minute)
	must(t, s.CreateSession(ctx, newSession("old", "u1")))
	fresh := newSession("new", "u1")
	err := s.CompleteLogin(ctx, storage.LoginCompletion{
		AuthRequestID: "missing",
		UserID:        "u1",
		SessionID:     "new",
		AuthTime:      now,
		Now:           now,
		NewSession:    &fresh,
		EndSession:    &storage.SessionEnd{SessionID: "old", Now: now, Reason: storage.EndReplaced},
		Audit:         &storage.AuditEvent{Time: now, Type: "login", UserID: "u1", Outcome: "success"},
	})
	wantErr(t, "CompleteLogin", err, storage.ErrNotFound)
	_, err = s.GetSession(ctx, "new")
	wantErr(t, "GetSession(new)", err, storage.ErrNotFound)
	checkSessionEnded(t, s, "old", nil)
	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{})
	must(t, err)
	diff(t, "audit events", []storage.AuditEvent(nil), events)
}
