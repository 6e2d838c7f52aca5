package storagetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func testUsers(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	alice := newUser("8a4b5e0c-0000-4000-8000-000000000001", "Alice@Example.com")
	bob := newUser("8a4b5e0c-0000-4000-8000-000000000002", "bob@example.com")
	bob.CreatedAt = t0.Add(time.Second)
	bob.EmailVerified, bob.MustChangePassword, bob.Disabled = false, false, true
	carol := newUser("u5", "carol@example.com")
	must(t, s.CreateUser(ctx, alice))
	must(t, s.CreateUser(ctx, bob))
	// Addresses are stored in their canonical form (package identifier):
	// the local part as typed, the domain in lower case.
	alice.Email = "Alice@example.com"

	t.Run("Create", func(t *testing.T) {
		tests := []struct {
			name string
			user storage.User
			want error
		}{
			{"duplicate id", newUser(alice.ID, "other@example.com"), storage.ErrAlreadyExists},
			{"duplicate email differing in case", newUser("u3", "ALICE@example.COM"), storage.ErrAlreadyExists},
			{"duplicate email with spaces", newUser("u4", " alice@example.com "), storage.ErrAlreadyExists},
			{"duplicate email in full-width letters", newUser("u6", "ａｌｉｃｅ@ｅｘａｍｐｌｅ.ｃｏｍ"), storage.ErrAlreadyExists},
			{"duplicate email with a full-width at sign", newUser("u7", "Alice＠Example.com"), storage.ErrAlreadyExists},
			{"new", carol, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantErr(t, "CreateUser", s.CreateUser(ctx, tt.user), tt.want)
			})
		}
	})

	t.Run("GetUser", func(t *testing.T) {
		got, err := s.GetUser(ctx, alice.ID)
		must(t, err)
		diff(t, "GetUser", alice, got)
		_, err = s.GetUser(ctx, "missing")
		wantErr(t, "GetUser(missing)", err, storage.ErrNotFound)
	})

	t.Run("GetUserByEmail", func(t *testing.T) {
		tests := []struct {
			email string
			want  storage.User
			err   error
		}{
			{"Alice@Example.com", alice, nil},
			{"alice@example.com", alice, nil},
			{"  ALICE@EXAMPLE.COM\n", alice, nil},
			{"ＡＬＩＣＥ@example.com", alice, nil},
			{"Bob@Example.Com", bob, nil},
			{"nobody@example.com", storage.User{}, storage.ErrNotFound},
			{"", storage.User{}, storage.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.email, func(t *testing.T) {
				got, err := s.GetUserByEmail(ctx, tt.email)
				wantErr(t, "GetUserByEmail", err, tt.err)
				diff(t, "GetUserByEmail", tt.want, got)
			})
		}
	})

	t.Run("ListUsers", func(t *testing.T) {
		got, err := s.ListUsers(ctx)
		must(t, err)
		// Oldest first; alice and carol were created at the same time.
		diff(t, "ListUsers", []storage.User{alice, carol, bob}, got)
	})
}

func testUpdateUser(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	alice := newUser("u1", "alice@example.com")
	must(t, s.CreateUser(ctx, alice))
	must(t, s.CreateUser(ctx, newUser("u2", "bob@example.com")))

	t.Run("Change", func(t *testing.T) {
		want := alice
		want.Email = "Alice.New@example.com"
		want.Name = "Alice New"
		want.Disabled = true
		want.MustChangePassword = false
		want.OTPEnabled = true
		want.UpdatedAt = t0.Add(time.Hour)
		got, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
			diff(t, "user passed to fn", alice, u)
			u.Email, u.Name, u.Disabled, u.MustChangePassword, u.UpdatedAt = want.Email, want.Name, want.Disabled, want.MustChangePassword, want.UpdatedAt
			u.OTPEnabled = want.OTPEnabled
			return u, nil
		})
		must(t, err)
		diff(t, "UpdateUser result", want, got)
		stored, err := s.GetUserByEmail(ctx, "alice.new@example.com")
		must(t, err)
		diff(t, "stored user", want, stored)
		_, err = s.GetUserByEmail(ctx, "alice@example.com")
		wantErr(t, "GetUserByEmail(old email)", err, storage.ErrNotFound)
		alice = want
	})

	tests := []struct {
		name string
		id   string
		fn   func(storage.User) (storage.User, error)
		want error
	}{
		{"abort", "u1", func(u storage.User) (storage.User, error) {
			u.Name = "changed"
			return u, errAbort
		}, errAbort},
		{"email taken, other case", "u1", func(u storage.User) (storage.User, error) {
			u.Email = "BOB@example.com"
			return u, nil
		}, storage.ErrAlreadyExists},
		{"missing", "missing", func(u storage.User) (storage.User, error) { return u, nil }, storage.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateUser(ctx, tt.id, tt.fn)
			wantErr(t, "UpdateUser", err, tt.want)
			got, err := s.GetUser(ctx, "u1")
			must(t, err)
			diff(t, "unchanged user", alice, got)
		})
	}

	t.Run("ID is kept", func(t *testing.T) {
		got, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
			u.ID = "u99"
			return u, nil
		})
		must(t, err)
		if got.ID != "u1" {
			t.Errorf("UpdateUser changed ID to %q", got.ID)
		}
		_, err = s.GetUser(ctx, "u99")
		wantErr(t, "GetUser(u99)", err, storage.ErrNotFound)
	})
}

func testDeleteUser(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(time.Hour)
	for _, id := range []string{"u1", "u2"} {
		must(t, s.CreateUser(ctx, newUser(id, id+"@example.com")))
		sess := newSession("s-"+id, id)
		must(t, s.CreateSession(ctx, sess))
		at := newAccessToken("at-" + id)
		at.UserID, at.Subject, at.SessionID = id, id, sess.ID
		rt := newRefreshToken("rt-"+id, "f-"+id)
		rt.UserID, rt.SessionID = id, "" // offline: not tied to the session
		must(t, s.IssueTokens(ctx, storage.TokenIssue{AccessToken: at, RefreshToken: &rt, Now: t0}))
	}

	must(t, s.DeleteUser(ctx, "u1", now))
	_, err := s.GetUser(ctx, "u1")
	wantErr(t, "GetUser(deleted)", err, storage.ErrNotFound)
	wantErr(t, "DeleteUser(again)", s.DeleteUser(ctx, "u1", now), storage.ErrNotFound)
	checkSessionEnded(t, s, "s-u1", &now)
	checkAccessRevoked(t, s, "at-u1", &now)
	checkRefreshRevoked(t, s, "hash-rt-u1", &now)

	// The other user keeps everything.
	_, err = s.GetUser(ctx, "u2")
	must(t, err)
	checkSessionEnded(t, s, "s-u2", nil)
	checkAccessRevoked(t, s, "at-u2", nil)
	checkRefreshRevoked(t, s, "hash-rt-u2", nil)
}

// testTimeZone stores times given in Asia/Tokyo and expects the same
// instants back, in UTC.
func testTimeZone(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		tokyo = time.FixedZone("Asia/Tokyo", 9*60*60) // no tzdata installed
	}
	local := time.Date(2025, 4, 1, 18, 30, 15, 250000000, tokyo) // 09:30:15.25 UTC
	u := newUser("u1", "tz@example.com")
	u.CreatedAt, u.UpdatedAt = local, local
	must(t, s.CreateUser(ctx, u))
	got, err := s.GetUser(ctx, "u1")
	must(t, err)

	a := newAuthRequest("ar1")
	a.CreatedAt, a.ExpiresAt = local, local.Add(time.Hour)
	a.CompletedAt = new(local)
	must(t, s.CreateAuthRequest(ctx, a))
	gotA, err := s.GetAuthRequest(ctx, "ar1")
	must(t, err)

	for _, tt := range []struct {
		name string
		got  time.Time
		want time.Time
	}{
		{"user created_at", got.CreatedAt, local},
		{"user updated_at", got.UpdatedAt, local},
		{"auth request created_at", gotA.CreatedAt, local},
		{"auth request expires_at", gotA.ExpiresAt, local.Add(time.Hour)},
		{"auth request completed_at", *gotA.CompletedAt, local},
	} {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
		if tt.got.Location() != time.UTC {
			t.Errorf("%s location = %v, want UTC", tt.name, tt.got.Location())
		}
	}

	// Comparisons in queries use the instant: an auth request that expires
	// at 10:30:15 UTC (given in Tokyo time) survives a clean-up at 10:00 UTC.
	if _, err := s.DeleteExpired(ctx, time.Date(2025, 4, 1, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAuthRequest(ctx, "ar1"); err != nil {
		t.Errorf("auth request deleted before its expiry: %v", err)
	}
}

// Checks shared by several tests. want nil means "not ended/revoked".

func checkSessionEnded(t *testing.T, s storage.Storage, id string, want *time.Time) {
	t.Helper()
	got, err := s.GetSession(t.Context(), id)
	must(t, err)
	diff(t, "session "+id+" EndedAt", want, got.EndedAt)
}

func checkAccessRevoked(t *testing.T, s storage.Storage, id string, want *time.Time) {
	t.Helper()
	got, err := s.GetAccessToken(t.Context(), id)
	must(t, err)
	diff(t, "access token "+id+" RevokedAt", want, got.RevokedAt)
}

func checkRefreshRevoked(t *testing.T, s storage.Storage, hash string, want *time.Time) {
	t.Helper()
	got, err := s.GetRefreshToken(t.Context(), hash)
	must(t, err)
	diff(t, "refresh token "+hash+" RevokedAt", want, got.RevokedAt)
}

// testConcurrentUpdate runs updaters at once: none may lose another's
// change.
func testConcurrentUpdate(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")))
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar1")))
	errs := race(racers, func(i int) error {
		if i%2 == 0 {
			_, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
				u.Name += "x"
				return u, nil
			})
			return err
		}
		_, err := s.UpdateAuthRequest(ctx, "ar1", func(a storage.AuthRequest) (storage.AuthRequest, error) {
			a.AMR = append(a.AMR, "x")
			return a, nil
		})
		return err
	})
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("update #%d", i), err, nil)
	}
	u, err := s.GetUser(ctx, "u1")
	must(t, err)
	if want := "User u1" + strings.Repeat("x", racers/2); u.Name != want {
		t.Errorf("Name = %q, want %q", u.Name, want)
	}
	a, err := s.GetAuthRequest(ctx, "ar1")
	must(t, err)
	if len(a.AMR) != racers/2 {
		t.Errorf("AMR has %d entries, want %d", len(a.AMR), racers/2)
	}
}
