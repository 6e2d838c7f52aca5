package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func newTOTP(id, user string) storage.TOTPFactor {
	return storage.TOTPFactor{ID: id, UserID: user, SecretSealed: []byte("sealed-" + id), CreatedAt: t0}
}

func newRecoveryCodes(prefix string, n int) []storage.RecoveryCode {
	codes := make([]storage.RecoveryCode, n)
	for i := range codes {
		codes[i] = storage.RecoveryCode{ID: fmt.Sprintf("%s-%d", prefix, i), CodeHash: fmt.Sprintf("hash-%s-%d", prefix, i)}
	}
	return codes
}

func factorAudit(id, user, typ, detail string, at time.Time) *storage.AuditEvent {
	return &storage.AuditEvent{ID: id, Time: at, Type: typ, UserID: user, Outcome: "success", Detail: detail}
}

// testGetFactors: the one read of a sign-in gives what GetTOTP,
// ListPasskeys and CountRecoveryCodes give, for the user asked only.
func testGetFactors(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")))
	must(t, s.CreateUser(ctx, newUser("u2", "u2@example.com")))
	check := func(what, user string) {
		t.Helper()
		got, err := s.GetFactors(ctx, user)
		must(t, err)
		var want storage.UserFactors
		if f, err := s.GetTOTP(ctx, user); err == nil {
			want.TOTP = &f
		}
		pks, err := s.ListPasskeys(ctx, user)
		must(t, err)
		want.Passkeys = len(pks)
		want.RecoveryCodes, err = s.CountRecoveryCodes(ctx, user)
		must(t, err)
		diff(t, what, want, got)
	}
	check("no factor", "u1")
	if got, _ := s.GetFactors(ctx, "u1"); got != (storage.UserFactors{}) {
		t.Errorf("GetFactors(no factor) = %+v, want zero", got)
	}
	must(t, s.CreateTOTP(ctx, newTOTP("f1", "u1")))
	check("unconfirmed app", "u1")
	at := t0.Add(time.Minute)
	must(t, s.ConfirmTOTP(ctx, "f1", 100, storage.FactorChange{UserID: "u1", Now: at, RecoveryCodes: newRecoveryCodes("a", 10)}))
	must(t, s.UseRecoveryCode(ctx, "hash-a-3", storage.FactorChange{UserID: "u1", Now: at}))
	must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: newPasskey("p1", "u1")}))
	p2 := newPasskey("p2", "u1")
	p2.CreatedAt = at
	must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: p2}))
	check("app, two passkeys, nine codes", "u1")
	if got, _ := s.GetFactors(ctx, "u1"); got.TOTP == nil || !got.TOTP.Confirmed() || got.Passkeys != 2 || got.RecoveryCodes != 9 {
		t.Errorf("GetFactors = %+v, want a confirmed app, 2 passkeys, 9 codes", got)
	}
	check("another user's factors are not counted", "u2")
	check("unknown user", "nobody")
}

func testTOTP(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")))
	_, err := s.GetTOTP(ctx, "u1")
	wantErr(t, "GetTOTP(none)", err, storage.ErrNotFound)
	wantErr(t, "UseTOTPStep(none)", s.UseTOTPStep(ctx, "u1", 10, t0), storage.ErrNotFound)

	// An enrolment started again replaces the unconfirmed factor.
	must(t, s.CreateTOTP(ctx, newTOTP("f0", "u1")))
	f1 := newTOTP("f1", "u1")
	must(t, s.CreateTOTP(ctx, f1))
	got, err := s.GetTOTP(ctx, "u1")
	must(t, err)
	diff(t, "unconfirmed factor", f1, got)
	if got.Confirmed() {
		t.Error("a new factor is confirmed")
	}
	wantErr(t, "UseTOTPStep(unconfirmed)", s.UseTOTPStep(ctx, "u1", 10, t0), storage.ErrNotFound)
	wantErr(t, "ConfirmTOTP(replaced)", s.ConfirmTOTP(ctx, "f0", 100, storage.FactorChange{UserID: "u1", Now: t0}), storage.ErrNotFound)

	// Confirming writes the recovery codes, the mail and the audit event
	// with the factor, once.
	at := t0.Add(time.Minute)
	must(t, s.ConfirmTOTP(ctx, "f1", 100, storage.FactorChange{UserID: "u1", Now: at, RecoveryCodes: newRecoveryCodes("a", 10),
		Mail: mailPtr("mail-enrol", at), Audit: factorAudit("ev-enrol", "u1", "mfa_enrol", "totp", at)}))
	got, err = s.GetTOTP(ctx, "u1")
	must(t, err)
	want := f1
	want.ConfirmedAt, want.LastUsedAt, want.LastStep = &at, &at, 100
	diff(t, "confirmed factor", want, got)
	if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 10 {
		t.Errorf("CountRecoveryCodes = %d, %v; want 10", n, err)
	}
	if _, err := s.GetMail(ctx, "mail-enrol"); err != nil {
		t.Errorf("enrolment mail: %v", err)
	}
	if evs, _ := s.ListAuditEvents(ctx, storage.AuditFilter{UserID: "u1", Type: "mfa_enrol"}); len(evs) != 1 {
		t.Errorf("enrolment audit events: %+v", evs)
	}
	wantErr(t, "ConfirmTOTP(again)", s.ConfirmTOTP(ctx, "f1", 101, storage.FactorChange{UserID: "u1", Now: at}), storage.ErrAlreadyUsed)
	wantErr(t, "CreateTOTP(confirmed exists)", s.CreateTOTP(ctx, newTOTP("f2", "u1")), storage.ErrAlreadyExists)

	// A step is accepted once, and never one before the last accepted.
	wantErr(t, "UseTOTPStep(confirmation step)", s.UseTOTPStep(ctx, "u1", 100, at), storage.ErrAlreadyUsed)
	must(t, s.UseTOTPStep(ctx, "u1", 102, at.Add(time.Minute)))
	wantErr(t, "UseTOTPStep(102 again)", s.UseTOTPStep(ctx, "u1", 102, at.Add(time.Minute)), storage.ErrAlreadyUsed)
	wantErr(t, "UseTOTPStep(101 after 102)", s.UseTOTPStep(ctx, "u1", 101, at.Add(time.Minute)), storage.ErrAlreadyUsed)
	got, _ = s.GetTOTP(ctx, "u1")
	if got.LastStep != 102 || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at.Add(time.Minute)) {
		t.Errorf("after use: %+v", got)
	}

	// Removal takes the factor and, when asked, the recovery codes.
	wantErr(t, "DeleteTOTP(other user)", s.DeleteTOTP(ctx, storage.FactorChange{UserID: "u2", Now: at}), storage.ErrNotFound)
	gone := at.Add(time.Hour)
	must(t, s.DeleteTOTP(ctx, storage.FactorChange{UserID: "u1", Now: gone, DropRecoveryCodes: true,
		Mail: mailPtr("mail-remove", gone), Audit: factorAudit("ev-remove", "u1", "mfa_remove", "totp", gone)}))
	_, err = s.GetTOTP(ctx, "u1")
	wantErr(t, "GetTOTP(removed)", err, storage.ErrNotFound)
	if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 0 {
		t.Errorf("CountRecoveryCodes after removal = %d, %v; want 0", n, err)
	}
	if _, err := s.GetMail(ctx, "mail-remove"); err != nil {
		t.Errorf("removal mail: %v", err)
	}
	// A failed write leaves the factor in place.
	must(t, s.CreateTOTP(ctx, newTOTP("f3", "u1")))
	wantErr(t, "ConfirmTOTP(duplicate mail)", s.ConfirmTOTP(ctx, "f3", 5, storage.FactorChange{UserID: "u1", Now: gone,
		Mail: mailPtr("mail-remove", gone)}), storage.ErrAlreadyExists)
	if got, _ := s.GetTOTP(ctx, "u1"); got.Confirmed() {
		t.Error("factor confirmed although its mail was not written")
	}
	// The account's removal takes its factors.
	must(t, s.ConfirmTOTP(ctx, "f3", 5, storage.FactorChange{UserID: "u1", Now: gone, RecoveryCodes: newRecoveryCodes("b", 2)}))
	must(t, s.DeleteUser(ctx, "u1", gone))
	_, err = s.GetTOTP(ctx, "u1")
	wantErr(t, "GetTOTP(deleted user)", err, storage.ErrNotFound)
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 0 {
		t.Errorf("%d recovery codes outlived the account", n)
	}
}

func testTOTPReplayConcurrent(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateTOTP(ctx, newTOTP("f1", "u1")))
	must(t, s.ConfirmTOTP(ctx, "f1", 100, storage.FactorChange{UserID: "u1", Now: t0}))
	errs := race(20, func(int) error { return s.UseTOTPStep(ctx, "u1", 101, t0.Add(time.Minute)) })
	oneWinner(t, errs, storage.ErrAlreadyUsed)

	// Confirmation races too: one first code confirms.
	must(t, s.CreateTOTP(ctx, newTOTP("f2", "u2")))
	errs = race(20, func(i int) error {
		return s.ConfirmTOTP(ctx, "f2", 200, storage.FactorChange{UserID: "u2", Now: t0, RecoveryCodes: newRecoveryCodes(fmt.Sprint("r", i), 10)})
	})
	oneWinner(t, errs, storage.ErrAlreadyUsed)
	if n, err := s.CountRecoveryCodes(ctx, "u2"); err != nil || n != 10 {
		t.Errorf("CountRecoveryCodes = %d, %v; want 10 (one set)", n, err)
	}
}

func testRecoveryCodes(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.ReplaceRecoveryCodes(ctx, storage.FactorChange{UserID: "u1", Now: t0, RecoveryCodes: newRecoveryCodes("a", 10)}))
	must(t, s.ReplaceRecoveryCodes(ctx, storage.FactorChange{UserID: "u2", Now: t0, RecoveryCodes: newRecoveryCodes("z", 3)}))

	at := t0.Add(time.Minute)
	must(t, s.UseRecoveryCode(ctx, "hash-a-3", storage.FactorChange{UserID: "u1", Now: at, Mail: mailPtr("mail-used", at),
		Audit: factorAudit("ev-used", "u1", "mfa_recovery_used", "recovery", at)}))
	if _, err := s.GetMail(ctx, "mail-used"); err != nil {
		t.Errorf("use mail: %v", err)
	}
	wantErr(t, "UseRecoveryCode(again)", s.UseRecoveryCode(ctx, "hash-a-3", storage.FactorChange{UserID: "u1", Now: at}), storage.ErrAlreadyUsed)
	wantErr(t, "UseRecoveryCode(unknown)", s.UseRecoveryCode(ctx, "hash-x", storage.FactorChange{UserID: "u1", Now: at}), storage.ErrNotFound)
	wantErr(t, "UseRecoveryCode(other user's)", s.UseRecoveryCode(ctx, "hash-z-0", storage.FactorChange{UserID: "u1", Now: at}), storage.ErrNotFound)
	if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 9 {
		t.Errorf("CountRecoveryCodes = %d, %v; want 9", n, err)
	}
	// A failed mail write leaves the code unused.
	wantErr(t, "UseRecoveryCode(duplicate mail)", s.UseRecoveryCode(ctx, "hash-a-4", storage.FactorChange{UserID: "u1", Now: at,
		Mail: mailPtr("mail-used", at)}), storage.ErrAlreadyExists)
	must(t, s.UseRecoveryCode(ctx, "hash-a-4", storage.FactorChange{UserID: "u1", Now: at}))

	// Regenerating voids the old set.
	must(t, s.ReplaceRecoveryCodes(ctx, storage.FactorChange{UserID: "u1", Now: at, RecoveryCodes: newRecoveryCodes("b", 10)}))
	wantErr(t, "UseRecoveryCode(old set)", s.UseRecoveryCode(ctx, "hash-a-5", storage.FactorChange{UserID: "u1", Now: at}), storage.ErrNotFound)
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 10 {
		t.Errorf("after regeneration %d codes, want 10", n)
	}
	if n, _ := s.CountRecoveryCodes(ctx, "u2"); n != 3 {
		t.Errorf("another user's codes changed: %d", n)
	}

	// Twenty uses of one code at once: one wins.
	errs := race(20, func(int) error {
		return s.UseRecoveryCode(ctx, "hash-b-0", storage.FactorChange{UserID: "u1", Now: at})
	})
	oneWinner(t, errs, storage.ErrAlreadyUsed)
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 9 {
		t.Errorf("after the race %d codes, want 9", n)
	}
	// An empty replacement removes them.
	must(t, s.ReplaceRecoveryCodes(ctx, storage.FactorChange{UserID: "u1", Now: at}))
	if n, _ := s.CountRecoveryCodes(ctx, "u1"); n != 0 {
		t.Errorf("after an empty replacement %d codes", n)
	}
}

func testOrganizationMFAPolicy(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	newOrg(t, s, "o1", "hotel")
	got, err := s.UpdateOrganization(ctx, "o1", func(o storage.Organization) (storage.Organization, []storage.AuditEvent, error) {
		o.MFAPolicy = "required"
		return o, nil, nil
	})
	must(t, err)
	again, err := s.GetOrganization(ctx, "o1")
	must(t, err)
	if got.MFAPolicy != "required" || again.MFAPolicy != "required" {
		t.Errorf("mfa policy = %q, stored %q; want required", got.MFAPolicy, again.MFAPolicy)
	}
	def, _ := s.GetOrganization(ctx, storage.DefaultOrganizationID)
	if def.MFAPolicy != "" {
		t.Errorf("default organization's mfa policy %q, want the deployment's", def.MFAPolicy)
	}
}

// testResetFactors: an administrator's reset removes the member's
// authenticator app, passkeys and recovery codes, with its mail and audit
// event, in one change; another member's factors stay.
func testResetFactors(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	for _, id := range []string{"u1", "u2"} {
		must(t, s.CreateUser(ctx, newUser(id, id+"@example.com")))
		must(t, s.CreateTOTP(ctx, newTOTP("f-"+id, id)))
		must(t, s.ConfirmTOTP(ctx, "f-"+id, 100, storage.FactorChange{UserID: id, Now: t0, RecoveryCodes: newRecoveryCodes(id, 10)}))
		must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: newPasskey("p-"+id, id)}))
	}
	at := t0.Add(time.Hour)
	_, _, err := s.ChangeMember(ctx, storage.MemberChange{OrganizationID: storage.DefaultOrganizationID, UserID: "u1", ResetFactors: true,
		Mails: []storage.OutboxMail{*mailPtr("mail-reset", at)}, Audit: []storage.AuditEvent{*factorAudit("ev-reset", "u1", "mfa_reset", "", at)}, Now: at})
	must(t, err)
	_, err = s.GetTOTP(ctx, "u1")
	wantErr(t, "GetTOTP(after reset)", err, storage.ErrNotFound)
	if pks, err := s.ListPasskeys(ctx, "u1"); err != nil || len(pks) != 0 {
		t.Errorf("passkeys after the reset: %v, %v", pks, err)
	}
	if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 0 {
		t.Errorf("recovery codes after the reset: %d, %v", n, err)
	}
	if _, err := s.GetMail(ctx, "mail-reset"); err != nil {
		t.Errorf("the reset's mail: %v", err)
	}
	if evs, err := s.ListAuditEvents(ctx, storage.AuditFilter{UserID: "u1", Type: "mfa_reset"}); err != nil || len(evs) != 1 {
		t.Errorf("reset audit events = %v, %v; want one", evs, err)
	}
	// The other member keeps everything.
	if _, err := s.GetTOTP(ctx, "u2"); err != nil {
		t.Errorf("u2's authenticator app: %v", err)
	}
	if pks, _ := s.ListPasskeys(ctx, "u2"); len(pks) != 1 {
		t.Errorf("u2's passkeys: %d", len(pks))
	}
	if n, _ := s.CountRecoveryCodes(ctx, "u2"); n != 10 {
		t.Errorf("u2's recovery codes: %d", n)
	}
	// A member of another organization is not found, and keeps them.
	_, _, err = s.ChangeMember(ctx, storage.MemberChange{OrganizationID: "elsewhere", UserID: "u2", ResetFactors: true, Now: at})
	if err == nil {
		t.Error("a reset naming another organization succeeded")
	}
	if pks, _ := s.ListPasskeys(ctx, "u2"); len(pks) != 1 {
		t.Errorf("u2's passkeys after a refused reset: %d", len(pks))
	}
}
