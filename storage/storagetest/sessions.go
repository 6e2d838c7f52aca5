package storagetest

import (
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func testSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	s1 := newSession("s1", "u1")
	s2 := newSession("s2", "u1")
	s2.CreatedAt = t0.Add(time.Minute)
	s2.AMR = nil
	must(t, s.CreateSession(ctx, s2))
	must(t, s.CreateSession(ctx, s1))

	t.Run("Create", func(t *testing.T) {
		dupHash := newSession("s3", "u1")
		dupHash.TokenHash = s1.TokenHash
		wantErr(t, "CreateSession(duplicate id)", s.CreateSession(ctx, newSession("s1", "u2")), storage.ErrAlreadyExists)
		wantErr(t, "CreateSession(duplicate token hash)", s.CreateSession(ctx, dupHash), storage.ErrAlreadyExists)
	})

	t.Run("Get", func(t *testing.T) {
		tests := []struct {
			name string
			get  func() (storage.Session, error)
			want storage.Session
			err  error
		}{
			{"by id", func() (storage.Session, error) { return s.GetSession(ctx, "s1") }, s1, nil},
			{"by token hash", func() (storage.Session, error) { return s.GetSessionByTokenHash(ctx, s2.TokenHash) }, s2, nil},
			{"by missing id", func() (storage.Session, error) { return s.GetSession(ctx, "nope") }, storage.Session{}, storage.ErrNotFound},
			{"by missing token hash", func() (storage.Session, error) { return s.GetSessionByTokenHash(ctx, "nope") }, storage.Session{}, storage.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.get()
				wantErr(t, tt.name, err, tt.err)
				diff(t, tt.name, tt.want, got)
			})
		}
	})

	t.Run("Touch", func(t *testing.T) {
		now, idle := t0.Add(30*time.Minute), t0.Add(150*time.Minute)
		must(t, s.TouchSession(ctx, "s1", now, idle))
		got, err := s.GetSession(ctx, "s1")
		must(t, err)
		want := s1
		want.LastSeenAt, want.IdleExpiresAt = now, idle
		diff(t, "touched session", want, got)
		if !got.Active(now) || got.Active(idle) {
			t.Error("Active wrong around IdleExpiresAt")
		}
		s1 = want
		wantErr(t, "TouchSession(missing)", s.TouchSession(ctx, "nope", now, idle), storage.ErrNotFound)
	})

	t.Run("ListUserSessions", func(t *testing.T) {
		got, err := s.ListUserSessions(ctx, "u1")
		must(t, err)
		diff(t, "ListUserSessions(u1)", []storage.Session{s1, s2}, got)
		got, err = s.ListUserSessions(ctx, "nobody")
		must(t, err)
		diff(t, "ListUserSessions(nobody)", []storage.Session(nil), got)
	})
}

// testSessionOldCookieName: the flag is stored as given, and a renewal
// (a new cookie value) clears it.
func testSessionOldCookieName(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	old := newSession("s-old", "u1")
	old.OldCookieName = true
	must(t, s.CreateSession(ctx, old))
	must(t, s.CreateSession(ctx, newSession("s-new", "u1")))
	for id, want := range map[string]bool{"s-old": true, "s-new": false} {
		got, err := s.GetSession(ctx, id)
		must(t, err)
		if got.OldCookieName != want {
			t.Errorf("%s: OldCookieName = %v, want %v", id, got.OldCookieName, want)
		}
	}
	now := t0.Add(time.Hour)
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar-renew")))
	renewed := newSession("s-old", "u1")
	renewed.TokenHash, renewed.LastSeenAt = "hash-renewed", now
	renewed.OldCookieName = true // ignored: the renewal's cookie has the new name
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar-renew", UserID: "u1", SessionID: "s-old",
		AuthTime: now, Now: now, NewSession: &renewed}))
	got, err := s.GetSessionByTokenHash(ctx, "hash-renewed")
	must(t, err)
	if got.ID != "s-old" || got.OldCookieName {
		t.Errorf("renewed session = %+v, want s-old without OldCookieName", got)
	}
}
