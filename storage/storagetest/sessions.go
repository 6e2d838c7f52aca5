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

func testEndSession(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for _, id := range []string{"s1", "s2"} {
		must(t, s.CreateSession(ctx, newSession(id, "u1")))
		at := newAccessToken("at-" + id)
		at.SessionID = id
		rt := newRefreshToken("rt-"+id, "f-"+id)
		rt.SessionID = id
		must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: at, RefreshToken: &rt, Now: t0}))
	}

	now := t0.Add(time.Hour)
	must(t, s.EndSession(ctx, "s1", now))
	must(t, s.EndSession(ctx, "s1", now.Add(time.Hour))) // idempotent
	checkSessionEnded(t, s, "s1", &now)
	checkAccessRevoked(t, s, "at-s1", &now)
	checkRefreshRevoked(t, s, "hash-rt-s1", &now)
	got, err := s.GetSession(ctx, "s1")
	must(t, err)
	if got.Active(now) {
		t.Error("ended session is Active")
	}

	checkSessionEnded(t, s, "s2", nil)
	checkAccessRevoked(t, s, "at-s2", nil)
	checkRefreshRevoked(t, s, "hash-rt-s2", nil)

	wantErr(t, "EndSession(missing)", s.EndSession(ctx, "nope", now), storage.ErrNotFound)
}

func testEndUserSessions(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(3 * time.Hour)
	ended := newSession("ended", "u1")
	ended.EndedAt = new(t0.Add(time.Hour))
	expired := newSession("expired", "u1") // idle expiry t0+2h < now
	active1, active2 := newSession("active1", "u1"), newSession("active2", "u1")
	for _, a := range []*storage.Session{&active1, &active2} {
		a.IdleExpiresAt = now.Add(time.Hour)
	}
	other := newSession("other", "u2")
	other.IdleExpiresAt = now.Add(time.Hour)
	for _, sess := range []storage.Session{ended, expired, active1, active2, other} {
		must(t, s.CreateSession(ctx, sess))
	}
	// Tokens: one in a session, one offline (no session), one of u2.
	for _, tok := range []struct{ id, user, session string }{{"in-session", "u1", "active1"}, {"offline", "u1", ""}, {"other", "u2", "other"}} {
		at := newAccessToken("at-" + tok.id)
		at.UserID, at.Subject, at.SessionID = tok.user, tok.user, tok.session
		rt := newRefreshToken("rt-"+tok.id, "f-"+tok.id)
		rt.UserID, rt.SessionID = tok.user, tok.session
		must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: at, RefreshToken: &rt, Now: t0}))
	}

	n, err := s.EndUserSessions(ctx, "u1", now)
	must(t, err)
	if n != 2 {
		t.Errorf("EndUserSessions ended %d sessions, want 2", n)
	}
	checkSessionEnded(t, s, "active1", &now)
	checkSessionEnded(t, s, "active2", &now)
	checkSessionEnded(t, s, "ended", ended.EndedAt)
	checkSessionEnded(t, s, "other", nil)
	for _, id := range []string{"in-session", "offline"} {
		checkAccessRevoked(t, s, "at-"+id, &now)
		checkRefreshRevoked(t, s, "hash-rt-"+id, &now)
	}
	checkAccessRevoked(t, s, "at-other", nil)
	checkRefreshRevoked(t, s, "hash-rt-other", nil)

	n, err = s.EndUserSessions(ctx, "u1", now)
	must(t, err)
	if n != 0 {
		t.Errorf("second EndUserSessions ended %d sessions, want 0", n)
	}
}
