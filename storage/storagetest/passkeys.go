package storagetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sekisho/sekisho/storage"
)

func newPasskey(id, user string) storage.Passkey {
	return storage.Passkey{
		ID: id, UserID: user, Name: "Key " + id, CredentialID: []byte("cred-" + id), PublicKey: []byte{0xa5, 0x01, 0x02},
		SignCount: 7, AAGUID: make([]byte, 16), Transports: []string{"internal", "hybrid"},
		BackupEligible: true, BackupState: true, Attachment: "platform", CreatedAt: t0,
	}
}

func newCeremony(id, purpose string) storage.WebAuthnCeremony {
	return storage.WebAuthnCeremony{
		ID: id, TokenHash: "token-" + id, UserID: "u1", Purpose: purpose, SessionData: []byte(`{"challenge":"abc"}`),
		AuthRequestID: "ar-1", BrowserHash: "browser-" + id, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute),
	}
}

func testPasskeyHandles(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")))
	_, err := s.GetPasskeyHandle(ctx, "u1")
	wantErr(t, "GetPasskeyHandle(none yet)", err, storage.ErrNotFound)
	_, err = s.EnsurePasskeyHandle(ctx, "nobody", []byte("h"), t0)
	wantErr(t, "EnsurePasskeyHandle(unknown user)", err, storage.ErrNotFound)

	// Concurrent first uses agree on one handle.
	handles := make([][]byte, 20)
	errs := race(len(handles), func(i int) error {
		h, err := s.EnsurePasskeyHandle(ctx, "u1", []byte(fmt.Sprintf("handle-%02d", i)), t0)
		handles[i] = h
		return err
	})
	for i, err := range errs {
		must(t, err)
		diff(t, fmt.Sprintf("handle #%d", i), handles[0], handles[i])
	}
	got, err := s.GetPasskeyHandle(ctx, "u1")
	must(t, err)
	diff(t, "stored handle", handles[0], got)
	id, err := s.GetUserIDByPasskeyHandle(ctx, handles[0])
	must(t, err)
	diff(t, "user of handle", "u1", id)
	_, err = s.GetUserIDByPasskeyHandle(ctx, []byte("other"))
	wantErr(t, "GetUserIDByPasskeyHandle(unknown)", err, storage.ErrNotFound)

	// The handle goes with the account.
	must(t, s.DeleteUser(ctx, "u1", t0))
	_, err = s.GetUserIDByPasskeyHandle(ctx, handles[0])
	wantErr(t, "handle of a deleted user", err, storage.ErrNotFound)
}

func testPasskeys(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")))
	must(t, s.CreateUser(ctx, newUser("u2", "u2@example.com")))
	p1 := newPasskey("p1", "u1")
	audit := &storage.AuditEvent{ID: "ev-p1", Time: t0, Type: "mfa_enrol", UserID: "u1", Outcome: "success", Detail: "passkey"}
	must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: p1, Mail: mailPtr("mail-p1", t0), Audit: audit}))
	if _, err := s.GetMail(ctx, "mail-p1"); err != nil {
		t.Errorf("the registration's mail was not enqueued: %v", err)
	}
	if evs, err := s.ListAuditEvents(ctx, storage.AuditFilter{UserID: "u1", Type: "mfa_enrol"}); err != nil || len(evs) != 1 {
		t.Errorf("registration audit events = %v, %v; want one", evs, err)
	}
	p2 := newPasskey("p2", "u1")
	p2.CreatedAt = t0.Add(time.Minute)
	p2.AAGUID, p2.Transports, p2.Attachment, p2.BackupEligible, p2.BackupState, p2.SignCount = nil, nil, "", false, false, 0
	must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: p2}))
	dup := newPasskey("p3", "u2")
	dup.CredentialID = p1.CredentialID
	wantErr(t, "CreatePasskey(same credential id)", s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: dup}), storage.ErrAlreadyExists)

	list, err := s.ListPasskeys(ctx, "u1")
	must(t, err)
	p2.AAGUID = []byte{}
	diff(t, "passkeys of u1", []storage.Passkey{p1, p2}, list)
	if list, _ := s.ListPasskeys(ctx, "u2"); len(list) != 0 {
		t.Errorf("passkeys of u2 = %v, want none", list)
	}
	got, err := s.GetPasskeyByCredentialID(ctx, []byte("cred-p1"))
	must(t, err)
	diff(t, "passkey by credential id", p1, got)
	_, err = s.GetPasskeyByCredentialID(ctx, []byte("cred-none"))
	wantErr(t, "GetPasskeyByCredentialID(unknown)", err, storage.ErrNotFound)

	must(t, s.RenamePasskey(ctx, "u1", "p1", "Laptop"))
	wantErr(t, "RenamePasskey(another user's)", s.RenamePasskey(ctx, "u2", "p1", "Mine"), storage.ErrNotFound)
	if got, _ := s.GetPasskeyByCredentialID(ctx, []byte("cred-p1")); got.Name != "Laptop" {
		t.Errorf("name after rename = %q", got.Name)
	}

	wantErr(t, "DeletePasskey(another user's)",
		s.DeletePasskey(ctx, storage.PasskeyChange{Passkey: storage.Passkey{ID: "p1", UserID: "u2"}}), storage.ErrNotFound)
	must(t, s.DeletePasskey(ctx, storage.PasskeyChange{Passkey: storage.Passkey{ID: "p2", UserID: "u1"},
		Mail: mailPtr("mail-p2", t0), Audit: &storage.AuditEvent{ID: "ev-p2", Time: t0, Type: "mfa_remove", UserID: "u1"}}))
	if list, _ := s.ListPasskeys(ctx, "u1"); len(list) != 1 {
		t.Errorf("after delete: %d passkeys, want 1", len(list))
	}
	if _, err := s.GetMail(ctx, "mail-p2"); err != nil {
		t.Errorf("the removal's mail was not enqueued: %v", err)
	}

	// Passkeys go with the account.
	must(t, s.DeleteUser(ctx, "u1", t0))
	_, err = s.GetPasskeyByCredentialID(ctx, []byte("cred-p1"))
	wantErr(t, "passkey of a deleted user", err, storage.ErrNotFound)
}

func testUsePasskey(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")))
	p := newPasskey("p1", "u1") // counter 7, backup eligible
	must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: p}))
	zero := newPasskey("p0", "u1")
	zero.SignCount, zero.CredentialID = 0, []byte("cred-p0")
	must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: zero}))

	later := t0.Add(time.Hour)
	tests := []struct {
		name string
		use  storage.PasskeyUse
		want error
	}{
		{"counter forward", storage.PasskeyUse{ID: "p1", SignCount: 8, BackupEligible: true, BackupState: false, Now: later}, nil},
		{"same counter (clone)", storage.PasskeyUse{ID: "p1", SignCount: 8, BackupEligible: true, Now: later}, storage.ErrConflict},
		{"older counter (clone)", storage.PasskeyUse{ID: "p1", SignCount: 3, BackupEligible: true, Now: later}, storage.ErrConflict},
		{"zero after non-zero", storage.PasskeyUse{ID: "p1", SignCount: 0, BackupEligible: true, Now: later}, storage.ErrConflict},
		{"backup eligibility changed", storage.PasskeyUse{ID: "p1", SignCount: 9, BackupEligible: false, Now: later}, storage.ErrConflict},
		{"no counter at all", storage.PasskeyUse{ID: "p0", SignCount: 0, BackupEligible: true, BackupState: true, Now: later}, nil},
		{"no counter, twice", storage.PasskeyUse{ID: "p0", SignCount: 0, BackupEligible: true, BackupState: true, Now: later}, nil},
		{"unknown passkey", storage.PasskeyUse{ID: "nope", SignCount: 1, Now: later}, storage.ErrNotFound},
	}
	for _, tt := range tests {
		_, err := s.UsePasskey(ctx, tt.use)
		wantErr(t, "UsePasskey "+tt.name, err, tt.want)
	}
	got, err := s.GetPasskeyByCredentialID(ctx, []byte("cred-p1"))
	must(t, err)
	if got.SignCount != 8 || got.BackupState || got.LastUsedAt == nil || !got.LastUsedAt.Equal(later) {
		t.Errorf("after uses: %+v; want counter 8, backup state off, last used %v", got, later)
	}

	// Concurrent assertions with one counter value: one wins.
	errs := race(20, func(int) error {
		_, err := s.UsePasskey(ctx, storage.PasskeyUse{ID: "p1", SignCount: 20, BackupEligible: true, Now: later})
		return err
	})
	oneWinner(t, errs, storage.ErrConflict)
}

func testCeremonies(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	c := newCeremony("c1", storage.CeremonyLogin)
	must(t, s.CreateCeremony(ctx, c))
	wantErr(t, "CreateCeremony(same token)", s.CreateCeremony(ctx, storage.WebAuthnCeremony{ID: "c1b", TokenHash: c.TokenHash,
		Purpose: storage.CeremonyLogin, CreatedAt: t0, ExpiresAt: t0}), storage.ErrAlreadyExists)

	now := t0.Add(time.Minute)
	claim := storage.CeremonyClaim{TokenHash: c.TokenHash, Purpose: storage.CeremonyLogin, BrowserHash: c.BrowserHash, Now: now}
	refused := []struct {
		name  string
		claim storage.CeremonyClaim
		want  error
	}{
		{"other purpose", storage.CeremonyClaim{TokenHash: c.TokenHash, Purpose: storage.CeremonyRegister, BrowserHash: c.BrowserHash, Now: now}, storage.ErrAlreadyUsed},
		{"other browser", storage.CeremonyClaim{TokenHash: c.TokenHash, Purpose: storage.CeremonyLogin, BrowserHash: "browser-x", Now: now}, storage.ErrAlreadyUsed},
		{"no browser", storage.CeremonyClaim{TokenHash: c.TokenHash, Purpose: storage.CeremonyLogin, Now: now}, storage.ErrAlreadyUsed},
		{"expired", storage.CeremonyClaim{TokenHash: c.TokenHash, Purpose: storage.CeremonyLogin, BrowserHash: c.BrowserHash, Now: c.ExpiresAt}, storage.ErrAlreadyUsed},
		{"unknown token", storage.CeremonyClaim{TokenHash: "token-x", Purpose: storage.CeremonyLogin, Now: now}, storage.ErrNotFound},
	}
	for _, tt := range refused {
		_, err := s.ClaimCeremony(ctx, tt.claim)
		wantErr(t, "ClaimCeremony "+tt.name, err, tt.want)
	}

	// 20 concurrent finishes of one ceremony: one gets it.
	var got atomic.Pointer[storage.WebAuthnCeremony]
	errs := race(20, func(int) error {
		cer, err := s.ClaimCeremony(ctx, claim)
		if err == nil {
			got.Store(&cer)
		}
		return err
	})
	oneWinner(t, errs, storage.ErrAlreadyUsed)
	want := c
	want.UsedAt = &now
	diff(t, "claimed ceremony", want, *got.Load())
	_, err := s.ClaimCeremony(ctx, claim)
	wantErr(t, "ClaimCeremony(again)", err, storage.ErrAlreadyUsed)

	// A ceremony without a browser is claimed without one.
	open := newCeremony("c2", storage.CeremonyRegister)
	open.BrowserHash, open.UserID, open.AuthRequestID = "", "", ""
	must(t, s.CreateCeremony(ctx, open))
	_, err = s.ClaimCeremony(ctx, storage.CeremonyClaim{TokenHash: open.TokenHash, Purpose: storage.CeremonyRegister, Now: now})
	must(t, err)

	// Expired ceremonies are swept.
	must(t, s.CreateCeremony(ctx, newCeremony("c3", storage.CeremonyStepUp)))
	_, err = s.DeleteExpired(ctx, t0.Add(time.Hour))
	must(t, err)
	_, err = s.ClaimCeremony(ctx, storage.CeremonyClaim{TokenHash: "token-c3", Purpose: storage.CeremonyStepUp, BrowserHash: "browser-c3", Now: now})
	wantErr(t, "ClaimCeremony(swept)", err, storage.ErrNotFound)
}

// testPasskeyCodes: a passkey's change carries its recovery codes' change
// in its transaction: written with a first passkey, left alone when the
// passkey is refused, dropped with the last one.
func testPasskeyCodes(t *testing.T, s storage.Storage) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, newUser("u1", "u1@example.com")))
	p1 := newPasskey("p1", "u1")
	must(t, s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: p1, Codes: &storage.FactorChange{Now: t0, RecoveryCodes: newRecoveryCodes("a", 10)}}))
	if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 10 {
		t.Errorf("codes with the first passkey: %d, %v; want 10", n, err)
	}
	dup := newPasskey("p2", "u1")
	dup.CredentialID = p1.CredentialID
	wantErr(t, "CreatePasskey(same credential, new codes)", s.CreatePasskey(ctx, storage.PasskeyChange{Passkey: dup,
		Codes: &storage.FactorChange{Now: t0, RecoveryCodes: newRecoveryCodes("b", 10)}}), storage.ErrAlreadyExists)
	wantErr(t, "UseRecoveryCode(refused set)", s.UseRecoveryCode(ctx, "hash-b-0", storage.FactorChange{UserID: "u1", Now: t0}), storage.ErrNotFound)
	must(t, s.UseRecoveryCode(ctx, "hash-a-0", storage.FactorChange{UserID: "u1", Now: t0}))
	must(t, s.DeletePasskey(ctx, storage.PasskeyChange{Passkey: p1, Codes: &storage.FactorChange{Now: t0, DropRecoveryCodes: true}}))
	if n, err := s.CountRecoveryCodes(ctx, "u1"); err != nil || n != 0 {
		t.Errorf("codes after the last passkey: %d, %v; want 0", n, err)
	}
}
