package storagetest

import (
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func newCode(id, user string) storage.OneTimeCode {
	return storage.OneTimeCode{ID: id, Purpose: storage.PurposeReset, UserID: user, AuthRequestID: "ar-1",
		TicketHash: "ticket-" + id, CodeHash: "code-" + id, Sends: 1, CreatedAt: t0, SentAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
}

func testOneTimeCodes(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	c1 := newCode("c1", "u1")
	must(t, s.CreateCode(ctx, c1, newMail("mail-c1", t0)))
	got, err := s.GetCodeByTicket(ctx, "ticket-c1")
	must(t, err)
	diff(t, "stored code", c1, got)
	if _, err := s.GetMail(ctx, "mail-c1"); err != nil {
		t.Errorf("the code's mail was not enqueued: %v", err)
	}
	_, err = s.GetCodeByTicket(ctx, "nope")
	wantErr(t, "GetCodeByTicket(missing)", err, storage.ErrNotFound)

	// A newer code voids the older one of the same user and purpose.
	later := t0.Add(time.Minute)
	c2 := newCode("c2", "u1")
	c2.CreatedAt = later
	must(t, s.CreateCode(ctx, c2, newMail("mail-c2", later)))
	got, err = s.GetCodeByTicket(ctx, "ticket-c1")
	must(t, err)
	if got.UsedAt == nil || !got.UsedAt.Equal(later) || got.Usable(later, 5) {
		t.Errorf("older code not voided: %+v", got)
	}
	other := newCode("c3", "u2")
	must(t, s.CreateCode(ctx, other, newMail("mail-c3", later)))
	if got, _ := s.GetCodeByTicket(ctx, "ticket-c2"); got.UsedAt != nil {
		t.Error("another user's code voided this one")
	}
	// A failed mail write leaves no code.
	dup := newCode("c4", "u3")
	wantErr(t, "CreateCode(duplicate mail id)", s.CreateCode(ctx, dup, newMail("mail-c1", later)), storage.ErrAlreadyExists)
	if _, err := s.GetCodeByTicket(ctx, "ticket-c4"); err == nil {
		t.Error("code written although its mail was not")
	}

	// Wrong tries: counted up to the limit, concurrent ones included.
	errs := race(8, func(int) error {
		_, err := s.FailCode(ctx, "c2", 5, later)
		return err
	})
	conflicts := 0
	for _, err := range errs {
		if err != nil {
			wantErr(t, "FailCode", err, storage.ErrConflict)
			conflicts++
		}
	}
	got, err = s.GetCodeByTicket(ctx, "ticket-c2")
	must(t, err)
	if got.Failures != 5 || conflicts != 3 || got.Usable(later, 5) {
		t.Errorf("after 8 wrong tries: failures %d, %d refused; want 5 and 3", got.Failures, conflicts)
	}
	// An expired code counts nothing.
	_, err = s.FailCode(ctx, "c3", 5, t0.Add(time.Hour))
	wantErr(t, "FailCode(expired)", err, storage.ErrConflict)
	_, err = s.FailCode(ctx, "nope", 5, later)
	wantErr(t, "FailCode(missing)", err, storage.ErrNotFound)

	_, err = s.DeleteExpired(ctx, t0.Add(time.Hour))
	must(t, err)
	if _, err := s.GetCodeByTicket(ctx, "ticket-c3"); err == nil {
		t.Error("an expired code was kept")
	}
}

func testCompleteReset(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	u := newUser("u1", "ann@example.com")
	u.MustChangePassword, u.EmailVerified = true, false
	must(t, s.CreateUser(ctx, u))
	signedIn(t, s, "s1", "u1", "app-a")
	must(t, s.CreateCode(ctx, newCode("c1", "u1"), newMail("mail-code", t0)))
	now := t0.Add(5 * time.Minute)
	r := storage.ResetCompletion{CodeID: "c1", MaxFailures: 5, Now: now, UserID: "u1", PasswordHash: "new-hash",
		End:   storage.SessionEnd{UserID: "u1", Now: now, Reason: storage.EndPasswordReset, RevokeAllTokens: true, Backchannel: backchannel},
		Mail:  &storage.OutboxMail{ID: "mail-changed", Recipient: "ann@example.com", Template: "password_changed", Body: []byte("x"), WorkState: storage.WorkState{CreatedAt: now}},
		Audit: &storage.AuditEvent{ID: "ev", Time: now, Type: "password_reset", UserID: "u1", Outcome: "success"}}

	// Another user's code cannot reset u1.
	must(t, s.CreateCode(ctx, newCode("c-other", "u2"), newMail("mail-other", t0)))
	bad := r
	bad.CodeID = "c-other"
	_, err := s.CompleteReset(ctx, bad)
	wantErr(t, "CompleteReset(other user's code)", err, storage.ErrAlreadyUsed)

	res, err := s.CompleteReset(ctx, r)
	must(t, err)
	if len(res.Ended) != 1 || len(res.Deliveries) != 1 {
		t.Errorf("reset ended %d sessions with %d deliveries, want 1 and 1", len(res.Ended), len(res.Deliveries))
	}
	got, err := s.GetUser(ctx, "u1")
	must(t, err)
	if got.PasswordHash != "new-hash" || got.MustChangePassword || !got.EmailVerified {
		t.Errorf("user after reset = %+v", got)
	}
	checkRefreshRevoked(t, s, "hash-rt-s1-app-a", &now)
	if _, err := s.GetMail(ctx, "mail-changed"); err != nil {
		t.Errorf("no password-changed mail: %v", err)
	}
	// The code is spent.
	_, err = s.CompleteReset(ctx, r)
	wantErr(t, "CompleteReset(again)", err, storage.ErrAlreadyUsed)
	r.CodeID = "missing"
	_, err = s.CompleteReset(ctx, r)
	wantErr(t, "CompleteReset(missing code)", err, storage.ErrNotFound)
}
