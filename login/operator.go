package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/storage"
)

// Operator actions on one account (the CLI's `user set-password` and
// `user clear-throttle`), with the rules the sign-in flows keep.

var (
	// ErrInvited: the account has an open invitation; the invited person
	// chooses the password when accepting it.
	ErrInvited = errors.New("login: the account is invited and has not accepted")
	// ErrNotMigrated: the account was imported from the legacy product and
	// has not migrated; its first sign-in resets the password by mail.
	ErrNotMigrated = errors.New("login: the imported account has not migrated")
)

// SetPassword sets u's password for an operator. The password policy is
// checked as for a reset (*PolicyError), every session of u ends and every
// refresh token is revoked with its clients told, as a reset does, and the
// "password changed" mail goes to u in lang, in one transaction with the
// audit event ("password_reset", detail "cli"). An invited account
// (ErrInvited) and an imported one that has not migrated (ErrNotMigrated)
// are refused: their password is set by their own link.
func (f *Flow) SetPassword(ctx context.Context, u storage.User, pw, lang string) (storage.SessionEndResult, error) {
	var ended storage.SessionEndResult
	switch {
	case u.InvitedAt != nil:
		return ended, ErrInvited
	case u.Imported():
		return ended, ErrNotMigrated
	}
	now := f.c.Now().UTC()
	hash, err := f.NewPassword(ctx, password.Subject{Email: u.Email, Name: u.Name, IsCurrent: func(p string) bool {
		ok, _, _ := f.c.Passwords.Verify(ctx, u.PasswordHash, p)
		return ok
	}}, pw, pw)
	if err != nil {
		return ended, err
	}
	changed, err := f.passwordChangedMail(ctx, lang, u, now, "")
	if err != nil {
		return ended, err
	}
	end := f.c.Sessions.Prepare(storage.SessionEnd{UserID: u.ID, Now: now, Reason: storage.EndPasswordReset, RevokeAllTokens: true})
	ended, err = f.c.Store.ChangePassword(ctx, storage.PasswordChange{Now: now, UserID: u.ID, PasswordHash: hash, End: &end, Mail: changed,
		Audit: &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "password_reset", OrganizationID: u.OrganizationID, UserID: u.ID,
			Outcome: "success", Detail: "cli"}})
	if err != nil {
		return ended, fmt.Errorf("login: set password: %w", err)
	}
	f.sendNow(ctx, changed)
	return ended, nil
}

// ThrottleKeys are the counters kept for account u of organization org
// (org.Code names it in the organization sign-in modes): its password
// attempts under the name it signs in with, its wrong sign-in codes, and
// the hourly caps of the sign-in codes and reset mails sent to it. The
// counters of client addresses are not the account's and stay.
func (f *Flow) ThrottleKeys(u storage.User, org storage.Organization) []string {
	name := AccountName{Organization: org.Code, Email: u.Email, Username: u.Username}
	acct := f.c.Hasher.Hash("throttle", f.accountKey(name))
	return []string{"login:acct:" + acct, "otp:fail:" + u.ID, "otp:send:" + u.ID, "reset:acct:" + acct}
}

// ClearThrottle forgets u's counters (ThrottleKeys): its next password
// attempt is free again. Audited ("throttle_cleared", detail "cli").
func (f *Flow) ClearThrottle(ctx context.Context, u storage.User, org storage.Organization) error {
	if err := f.c.Store.ResetCounters(ctx, f.ThrottleKeys(u, org)); err != nil {
		return fmt.Errorf("login: clear throttle: %w", err)
	}
	now := f.c.Now().UTC()
	err := f.c.Store.AddAuditEvent(ctx, storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "throttle_cleared",
		OrganizationID: u.OrganizationID, UserID: u.ID, Outcome: "success", Detail: "cli"})
	if err != nil {
		return fmt.Errorf("login: audit: %w", err)
	}
	return nil
}
