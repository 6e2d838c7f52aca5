package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func newCode(id, user string) storage.OneTimeCode {
	return storage.OneTimeCode{ID: id, Purpose: storage.PurposeReset, UserID: user, AuthRequestID: "ar-1", ACR: "acr-" + id,
		TicketHash: "ticket-" + id, CodeHash: "code-" + id, BrowserHash: "browser-" + id, Sends: 1, CreatedAt: t0, SentAt: t0,
		ExpiresAt: t0.Add(15 * time.Minute)}
}

func testOneTimeCodes(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	c1 := newCode("c1", "u1")
	must(t, s.CreateCode(ctx, c1, mailPtr("mail-c1", t0)))
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
	must(t, s.CreateCode(ctx, c2, mailPtr("mail-c2", later)))
	got, err = s.GetCodeByTicket(ctx, "ticket-c1")
	must(t, err)
	if got.UsedAt == nil || !got.UsedAt.Equal(later) || got.Usable(later, 5) {
		t.Errorf("older code not voided: %+v", got)
	}
	other := newCode("c3", "u2")
	must(t, s.CreateCode(ctx, other, mailPtr("mail-c3", later)))
	if got, _ := s.GetCodeByTicket(ctx, "ticket-c2"); got.UsedAt != nil {
		t.Error("another user's code voided this one")
	}
	// A failed mail write leaves no code.
	dup := newCode("c4", "u3")
	wantErr(t, "CreateCode(duplicate mail id)", s.CreateCode(ctx, dup, mailPtr("mail-c1", later)), storage.ErrAlreadyExists)
	if _, err := s.GetCodeByTicket(ctx, "ticket-c4"); err == nil {
		t.Error("code written although its mail was not")
	}

	// Tries are taken before they are compared: up to the limit.
	errs := race(8, func(int) error {
		_, err := s.TakeCodeTry(ctx, storage.CodeTry{ID: "c2", MaxFailures: 5, Now: later})
		return err
	})
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("TakeCodeTry #%d", i), err, nil)
	}
	got, err = s.GetCodeByTicket(ctx, "ticket-c2")
	must(t, err)
	if got.Failures != 5 || got.Usable(later, 5) {
		t.Errorf("after 8 tries: failures %d; want 5", got.Failures)
	}
	res, err := s.TakeCodeTry(ctx, storage.CodeTry{ID: "c2", MaxFailures: 5, Now: later})
	must(t, err)
	if res.Taken || res.Code.Failures != 5 || res.Code.CodeHash != "code-c2" {
		t.Errorf("a sixth try = %+v, want refused, with the code as it is", res)
	}
	// An expired code counts nothing.
	res, err = s.TakeCodeTry(ctx, storage.CodeTry{ID: "c3", MaxFailures: 5, Now: t0.Add(time.Hour)})
	must(t, err)
	if res.Taken || res.Code.Failures != 0 {
		t.Errorf("try of an expired code = %+v, want refused", res)
	}
	_, err = s.TakeCodeTry(ctx, storage.CodeTry{ID: "nope", MaxFailures: 5, Now: later})
	wantErr(t, "TakeCodeTry(missing)", err, storage.ErrNotFound)

	_, err = s.DeleteExpired(ctx, t0.Add(time.Hour))
	must(t, err)
	if _, err := s.GetCodeByTicket(ctx, "ticket-c3"); err == nil {
		t.Error("an expired code was kept")
	}
}

func testChangePassword(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	u := newUser("u1", "ann@example.com")
	u.MustChangePassword, u.EmailVerified = true, false
	must(t, s.CreateUser(ctx, u))
	signedIn(t, s, "s1", "u1", "app-a")
	must(t, s.CreateCode(ctx, newCode("c1", "u1"), mailPtr("mail-code", t0)))
	now := t0.Add(5 * time.Minute)
	r := storage.PasswordChange{Code: &storage.CodeClaim{ID: "c1", UserID: "u1", Purpose: storage.PurposeReset, MaxFailures: 5},
		Now: now, UserID: "u1", PasswordHash: "new-hash", VerifyEmail: true,
		End:   &storage.SessionEnd{UserID: "u1", Now: now, Reason: storage.EndPasswordReset, RevokeAllTokens: true, Backchannel: backchannel},
		Mail:  &storage.OutboxMail{ID: "mail-changed", Recipient: "ann@example.com", Template: "password_changed", Body: []byte("x"), WorkState: storage.WorkState{CreatedAt: now}},
		Audit: &storage.AuditEvent{ID: "ev", Time: now, Type: "password_reset", UserID: "u1", Outcome: "success"}}

	// Another user's code, or a code of another purpose, cannot reset u1.
	must(t, s.CreateCode(ctx, newCode("c-other", "u2"), mailPtr("mail-other", t0)))
	bad := r
	bad.Code = &storage.CodeClaim{ID: "c-other", UserID: "u1", Purpose: storage.PurposeReset, MaxFailures: 5}
	_, err := s.ChangePassword(ctx, bad)
	wantErr(t, "ChangePassword(other user's code)", err, storage.ErrAlreadyUsed)
	bad.Code = &storage.CodeClaim{ID: "c1", UserID: "u1", Purpose: storage.PurposeLogin, MaxFailures: 5}
	_, err = s.ChangePassword(ctx, bad)
	wantErr(t, "ChangePassword(other purpose)", err, storage.ErrAlreadyUsed)

	res, err := s.ChangePassword(ctx, r)
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
	_, err = s.ChangePassword(ctx, r)
	wantErr(t, "ChangePassword(again)", err, storage.ErrAlreadyUsed)
	r.Code.ID = "missing"
	_, err = s.ChangePassword(ctx, r)
	wantErr(t, "ChangePassword(missing code)", err, storage.ErrNotFound)

	// Without a code, keeping the current session: the email stays as it
	// was unless asked, other sessions end.
	must(t, s.CreateUser(ctx, newUser("u3", "cat@example.com")))
	signedIn(t, s, "keep", "u3", "app-a")
	signedIn(t, s, "other", "u3", "app-a")
	res, err = s.ChangePassword(ctx, storage.PasswordChange{Now: now, UserID: "u3", PasswordHash: "h3",
		End: &storage.SessionEnd{UserID: "u3", KeepSessionID: "keep", Now: now, Reason: storage.EndRevoked}})
	must(t, err)
	if len(res.Ended) != 1 || res.Ended[0].ID != "other" {
		t.Errorf("change ended %+v, want only the other session", res.Ended)
	}
	if sess, _ := s.GetSession(ctx, "keep"); sess.EndedAt != nil {
		t.Error("the kept session ended")
	}
	_, err = s.ChangePassword(ctx, storage.PasswordChange{Now: now, UserID: "nobody", PasswordHash: "h"})
	wantErr(t, "ChangePassword(missing user)", err, storage.ErrNotFound)
}

func testRenewCode(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	c := newCode("c1", "u1")
	c.Purpose = storage.PurposeLogin
	must(t, s.CreateCode(ctx, c, mailPtr("m1", t0)))
	_, err := s.TakeCodeTry(ctx, storage.CodeTry{ID: "c1", MaxFailures: 5, Now: t0})
	must(t, err)
	later := t0.Add(20 * time.Minute) // after the first code expired
	got, err := s.RenewCode(ctx, storage.CodeRenewal{ID: "c1", CodeHash: "code-new", Now: later,
		ExpiresAt: later.Add(5 * time.Minute), MaxFailures: 5, Mail: newMail("m2", later)})
	must(t, err)
	if got.CodeHash != "code-new" || got.Failures != 1 || got.Sends != 2 || !got.SentAt.Equal(later) || !got.Usable(later, 5) {
		t.Errorf("renewed code = %+v; want the new hash, failures kept, two sends, usable", got)
	}
	if _, err := s.GetMail(ctx, "m2"); err != nil {
		t.Errorf("the resend's mail was not enqueued: %v", err)
	}
	// A failed mail write renews nothing.
	_, err = s.RenewCode(ctx, storage.CodeRenewal{ID: "c1", CodeHash: "code-bad", Now: later,
		ExpiresAt: later.Add(time.Minute), MaxFailures: 5, Mail: newMail("m2", later)})
	wantErr(t, "RenewCode(duplicate mail)", err, storage.ErrAlreadyExists)
	if got, _ := s.GetCodeByTicket(ctx, "ticket-c1"); got.CodeHash != "code-new" {
		t.Error("code renewed although its mail was not written")
	}
	for range 4 {
		_, _ = s.TakeCodeTry(ctx, storage.CodeTry{ID: "c1", MaxFailures: 5, Now: later})
	}
	_, err = s.RenewCode(ctx, storage.CodeRenewal{ID: "c1", CodeHash: "x", Now: later, ExpiresAt: later.Add(time.Minute), MaxFailures: 5, Mail: newMail("m3", later)})
	wantErr(t, "RenewCode(exhausted)", err, storage.ErrConflict)
	_, err = s.RenewCode(ctx, storage.CodeRenewal{ID: "nope", CodeHash: "x", Now: later, ExpiresAt: later, MaxFailures: 5, Mail: newMail("m4", later)})
	wantErr(t, "RenewCode(missing)", err, storage.ErrNotFound)
}

func testChangeEmail(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "old@example.com")))
	must(t, s.CreateUser(ctx, newUser("u2", "taken@example.com")))
	link := func(id, email string) storage.CodeClaim {
		c := newCode(id, "u1")
		c.Purpose, c.Email = storage.PurposeVerifyEmail, email
		must(t, s.CreateCode(ctx, c, mailPtr("m-"+id, t0)))
		return storage.CodeClaim{ID: id, UserID: "u1", Purpose: storage.PurposeVerifyEmail, MaxFailures: 1}
	}
	now := t0.Add(time.Minute)
	taken := link("v1", "Taken@Example.com")
	_, err := s.ChangeEmail(ctx, storage.EmailChange{Code: &taken, Now: now})
	wantErr(t, "ChangeEmail(link to a taken address)", err, storage.ErrAlreadyExists)
	if c, _ := s.GetCodeByTicket(ctx, "ticket-v1"); c.UsedAt != nil {
		t.Error("a refused verification spent its link")
	}
	v := link("v2", "New@example.com")
	u, err := s.ChangeEmail(ctx, storage.EmailChange{Code: &v, Now: now, Mail: mailPtr("m-notice", now),
		Audit: &storage.AuditEvent{ID: "ev", Time: now, Type: "email_verified", UserID: "u1", Outcome: "success"}})
	must(t, err)
	if u.Email != "New@example.com" || !u.EmailVerified {
		t.Errorf("user after verification = %+v", u)
	}
	if _, err := s.GetMail(ctx, "m-notice"); err != nil {
		t.Errorf("the notice was not enqueued: %v", err)
	}
	if got, err := s.GetUserByEmail(ctx, "new@example.com"); err != nil || got.ID != "u1" {
		t.Errorf("GetUserByEmail(new address) = %+v, %v", got, err)
	}
	_, err = s.GetUserByEmail(ctx, "old@example.com")
	wantErr(t, "GetUserByEmail(old address)", err, storage.ErrNotFound)
	_, err = s.ChangeEmail(ctx, storage.EmailChange{Code: &v, Now: now})
	wantErr(t, "ChangeEmail(reused link)", err, storage.ErrAlreadyUsed)
	// ClaimCode on its own: once, for its user and purpose only.
	other := link("v4", "x@example.com")
	wrong := other
	wrong.Purpose = storage.PurposeLogin
	wantErr(t, "ClaimCode(other purpose)", s.ClaimCode(ctx, wrong, now), storage.ErrAlreadyUsed)
	must(t, s.ClaimCode(ctx, other, now))
	wantErr(t, "ClaimCode(again)", s.ClaimCode(ctx, other, now), storage.ErrAlreadyUsed)
	other.ID = "none"
	wantErr(t, "ClaimCode(missing)", s.ClaimCode(ctx, other, now), storage.ErrNotFound)
	expired := link("v3", "later@example.com")
	_, err = s.ChangeEmail(ctx, storage.EmailChange{Code: &expired, Now: t0.Add(time.Hour)})
	wantErr(t, "ChangeEmail(expired link)", err, storage.ErrAlreadyUsed)

	// A trusted caller sets the address and its verification at once.
	reset := newCode("r1", "u1")
	must(t, s.CreateCode(ctx, reset, mailPtr("m-r1", t0)))
	_, err = s.ChangeEmail(ctx, storage.EmailChange{UserID: "u1", Email: "TAKEN@example.com", Now: now})
	wantErr(t, "ChangeEmail(taken address)", err, storage.ErrAlreadyExists)
	_, err = s.ChangeEmail(ctx, storage.EmailChange{UserID: "nobody", Email: "free@example.com", Now: now})
	wantErr(t, "ChangeEmail(no such user)", err, storage.ErrNotFound)
	// Only the case changes: the address is the same, codes stay.
	u, err = s.ChangeEmail(ctx, storage.EmailChange{UserID: "u1", Email: " new@example.com ", Verified: true, Now: now})
	must(t, err)
	if u.Email != "new@example.com" || !u.EmailVerified {
		t.Errorf("user after a case change = %+v", u)
	}
	if c, _ := s.GetCodeByTicket(ctx, "ticket-r1"); c.UsedAt != nil {
		t.Error("a case change voided the reset code")
	}
	u, err = s.ChangeEmail(ctx, storage.EmailChange{UserID: "u1", Email: "moved@example.com", Verified: false, Now: now,
		Audit: &storage.AuditEvent{ID: "ev2", Time: now, Type: "email_changed", UserID: "u1", Outcome: "success"}})
	must(t, err)
	if u.Email != "moved@example.com" || u.EmailVerified {
		t.Errorf("user after a trusted change = %+v", u)
	}
	if got, err := s.GetUserByEmail(ctx, "MOVED@example.com"); err != nil || got.ID != "u1" || got.EmailVerified {
		t.Errorf("GetUserByEmail(moved) = %+v, %v", got, err)
	}
	if c, _ := s.GetCodeByTicket(ctx, "ticket-r1"); c.UsedAt == nil {
		t.Error("the reset code mailed to the old address still works")
	}
	if ev, _ := s.ListAuditEvents(ctx, storage.AuditFilter{UserID: "u1", Type: "email_changed"}); len(ev) != 1 {
		t.Errorf("audit events = %+v", ev)
	}
}

func testCompleteLoginExtras(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	now := t0.Add(time.Minute)
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar1")))
	c := newCode("otp", "u1")
	c.Purpose = storage.PurposeLogin
	must(t, s.CreateCode(ctx, c, mailPtr("m-otp", t0)))
	claim := storage.CodeClaim{ID: "otp", UserID: "u1", Purpose: storage.PurposeLogin, MaxFailures: 5}
	otpAt := now
	dev := storage.Device{ID: "d1", UserID: "u1", TokenHash: "dev-hash", CreatedAt: now, LastSeenAt: now, OTPAt: &otpAt, ExpiresAt: now.Add(24 * time.Hour)}
	note := newMail("m-note", now)
	completion := storage.LoginCompletion{AuthRequestID: "ar1", UserID: "u1", SessionID: "s1", AuthTime: now,
		AMR: []string{"pwd", "otp"}, Now: now, ClaimCode: &claim, Device: &dev, Mail: &note}
	must(t, s.CompleteLogin(ctx, completion))
	got, err := s.GetDevice(ctx, "dev-hash", "u1")
	must(t, err)
	diff(t, "device", dev, got)
	if _, err := s.GetMail(ctx, "m-note"); err != nil {
		t.Errorf("the sign-in mail was not enqueued: %v", err)
	}
	_, err = s.GetDevice(ctx, "dev-hash", "u2")
	wantErr(t, "GetDevice(other user)", err, storage.ErrNotFound)

	// The code is spent: a replay writes nothing.
	must(t, s.CreateAuthRequest(ctx, newAuthRequest("ar2")))
	completion.AuthRequestID, completion.Device, completion.Mail = "ar2", nil, nil
	wantErr(t, "CompleteLogin(spent code)", s.CompleteLogin(ctx, completion), storage.ErrAlreadyUsed)
	if a, _ := s.GetAuthRequest(ctx, "ar2"); a.Done() {
		t.Error("a sign-in with a spent code completed")
	}

	// A later sign-in without the step moves the device's last use, and
	// keeps when it passed the step.
	later := now.Add(time.Hour)
	again := storage.Device{ID: "d-other", UserID: "u1", TokenHash: "dev-hash", CreatedAt: later, LastSeenAt: later, ExpiresAt: later.Add(24 * time.Hour)}
	must(t, s.CompleteLogin(ctx, storage.LoginCompletion{AuthRequestID: "ar2", UserID: "u1", SessionID: "s2", AuthTime: later, Now: later, Device: &again}))
	got, err = s.GetDevice(ctx, "dev-hash", "u1")
	must(t, err)
	want := dev
	want.LastSeenAt, want.ExpiresAt = later, later.Add(24*time.Hour)
	diff(t, "device after a second sign-in", want, got)

	_, err = s.DeleteExpired(ctx, later.Add(48*time.Hour))
	must(t, err)
	_, err = s.GetDevice(ctx, "dev-hash", "u1")
	wantErr(t, "GetDevice(expired, swept)", err, storage.ErrNotFound)
}

func mailPtr(id string, created time.Time) *storage.OutboxMail {
	m := newMail(id, created)
	return &m
}
