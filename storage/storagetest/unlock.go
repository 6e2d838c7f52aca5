package storagetest

import (
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

// testCompleteLoginUnlocks: an interactive completion ends the dormant
// lock in its transaction (mark and administrator's unlock cleared, the
// user's unused unlock links spent, the unlock recorded); the reuse of a
// session leaves all of it; another user's links stay usable.
func testCompleteLoginUnlocks(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "a@example.com")))
	must(t, s.CreateUser(ctx, newUser("u2", "b@example.com")))
	marked, until := t0.Add(time.Hour), t0.Add(48*time.Hour)
	_, err := s.UpdateUser(ctx, "u1", func(u storage.User) (storage.User, error) {
		u.DormantAt, u.UnlockedUntil = &marked, &until
		return u, nil
	})
	must(t, err)
	link := func(id, user string) storage.OneTimeCode {
		c := newCode(id, user)
		c.Purpose, c.ExpiresAt = storage.PurposeUnlock, t0.Add(24*time.Hour)
		return c
	}
	must(t, s.CreateCode(ctx, link("l1", "u1"), nil))
	must(t, s.CreateCode(ctx, link("l2", "u2"), nil))
	for _, id := range []string{"ar1", "ar2"} {
		must(t, s.CreateAuthRequest(ctx, newAuthRequest(id)))
	}
	now := t0.Add(2 * time.Hour)
	// A session reused: nothing of the lock changes.
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar1", UserID: "u1", SessionID: "s1", AuthTime: t0, Now: now}))
	u, err := s.GetUser(ctx, "u1")
	must(t, err)
	if u.DormantAt == nil || u.UnlockedUntil == nil {
		t.Fatalf("after a session reuse DormantAt = %v, UnlockedUntil = %v, want both kept", u.DormantAt, u.UnlockedUntil)
	}
	audit := storage.AuditEvent{ID: "ev-unlock", Time: now, Type: "account_unlocked", OrganizationID: storage.DefaultOrganizationID,
		UserID: "u1", Outcome: "success", Detail: "link"}
	sess := newSession("s2", "u1")
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar2", UserID: "u1", SessionID: "s2", AuthTime: now, Now: now,
		NewSession: &sess, Interactive: true, Unlocked: &audit}))
	u, err = s.GetUser(ctx, "u1")
	must(t, err)
	if u.DormantAt != nil || u.UnlockedUntil != nil || u.LastLoginAt == nil || !u.LastLoginAt.Equal(now) {
		t.Errorf("after an interactive sign-in DormantAt = %v, UnlockedUntil = %v, LastLoginAt = %v; want nil, nil, %v",
			u.DormantAt, u.UnlockedUntil, u.LastLoginAt, now)
	}
	for id, spent := range map[string]bool{"l1": true, "l2": false} {
		c, err := s.GetCodeByTicket(ctx, "ticket-"+id)
		must(t, err)
		if (c.UsedAt != nil) != spent {
			t.Errorf("link %s UsedAt = %v, want spent %v", id, c.UsedAt, spent)
		}
	}
	events, err := s.ListAuditEvents(ctx, storage.AuditFilter{Type: "account_unlocked"})
	must(t, err)
	diff(t, "unlock events", []storage.AuditEvent{audit}, events)
}
