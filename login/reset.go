package login

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// Errors of the password reset.
var (
	// ErrWrongCode: the code is wrong, expired, spent or for another
	// account — one answer for all.
	ErrWrongCode = errors.New("login: wrong or expired code")
	// ErrCodeExhausted: too many wrong tries; start again.
	ErrCodeExhausted = errors.New("login: too many wrong codes")
	// ErrPasswordMismatch: the confirmation differs.
	ErrPasswordMismatch = errors.New("login: the passwords differ")
)

// PolicyError lists the password rules a new password breaks.
type PolicyError struct{ Violations []password.Violation }

func (e *PolicyError) Error() string {
	return fmt.Sprintf("login: password breaks %d rule(s)", len(e.Violations))
}

// ResetConfig configures the password reset.
type ResetConfig struct {
	CodeTTL     time.Duration // 15 minutes
	MaxFailures int           // 5
	// PerEmail and PerIP cap the codes sent per hour; beyond them the
	// answer is the same, and no mail goes out.
	PerEmail, PerIP int
	// Floor is the least time a code request takes, whether or not the
	// account exists.
	Floor time.Duration
}

// validMinutes is the code lifetime as the pages and mails say it.
func (c ResetConfig) validMinutes() int { return int(c.CodeTTL / time.Minute) }

// ResetStarted is what the page after "send me a code" needs.
type ResetStarted struct {
	Ticket string // names the code, without saying whether one exists
	// StepToken is the step cookie the code is bound to: the browser must
	// send it with the code.
	StepToken string
}

// StartReset sends a reset code to the account the form names (its
// address, or its organization and account name or address: the
// request's organization, when it names one, wins), if there is one that
// may reset by mail and the limits allow, and always answers alike, in
// the same time. An unknown organization or account, an account waiting
// for its invitation, a disabled one, one without a registered address
// and one the request's client does not admit get no mail. a is the
// sign-in the user came from, loaded with Request; stepToken is the
// browser's step cookie, if any (the code is bound to it, or to a new one
// in ResetStarted).
func (f *Flow) StartReset(ctx context.Context, a storage.AuthRequest, name AccountName, ip, lang, stepToken string) (ResetStarted, error) {
	start := time.Now()
	defer func() { sleepUntil(ctx, start.Add(f.c.Reset.Floor)) }()
	ticket := secret.RandomToken(32)
	browserHash := f.bindStep(&stepToken)
	out := ResetStarted{Ticket: ticket, StepToken: stepToken}
	now := f.c.Now().UTC()
	name = f.named(a, name)
	// Both caps are taken at once, before anything is looked up: over
	// either, nothing is counted and no mail goes out. The account's key
	// is its one normalised name, organization included.
	ok, err := f.c.Store.TakeAttempt(ctx, now,
		hourlyCap("reset:acct:"+f.c.Hasher.Hash("throttle", f.accountKey(name)), f.c.Reset.PerEmail),
		hourlyCap("reset:ip:"+ip, f.c.Reset.PerIP))
	if err != nil {
		return out, fmt.Errorf("login: count reset: %w", err)
	}
	if !ok {
		f.audit(ctx, storage.AuditEvent{Type: "password_reset_requested", ClientID: a.ClientID, IP: ip, Outcome: "failure", Detail: "rate_limited"}, now)
		return out, nil
	}
	u, _, err := f.lookup(ctx, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (u.Disabled || u.InvitedAt != nil)) {
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("login: load user: %w", err)
	}
	refused := ""
	if !f.mailable(u) {
		refused = "no_address"
	} else if admitted, err := f.admits(ctx, a, u); err != nil {
		return out, err
	} else if !admitted {
		refused = "client_organization"
	}
	if refused != "" {
		f.audit(ctx, storage.AuditEvent{Type: "password_reset_requested", OrganizationID: u.OrganizationID, UserID: u.ID,
			ClientID: a.ClientID, IP: ip, Outcome: "failure", Detail: refused}, now)
		return out, nil
	}
	code := secret.RandomDigits(6)
	m, err := f.c.Mailer.Compose(lang, templates.MailResetCode, mail.Address{Name: u.Name, Email: u.Email},
		&templates.ResetCodeMail{Code: code, ValidMinutes: f.c.Reset.validMinutes()})
	if err != nil {
		// An address the mail cannot be written to (a stored name or
		// address that a header refuses) answers as an unknown one would:
		// the page must not tell that the account exists.
		f.c.Logger.WarnContext(ctx, "reset code mail cannot be composed", "user", u.ID, "err", err)
		f.audit(ctx, storage.AuditEvent{Type: "password_reset_requested", OrganizationID: u.OrganizationID, UserID: u.ID,
			ClientID: a.ClientID, IP: ip, Outcome: "failure", Detail: "undeliverable"}, now)
		return out, nil
	}
	c := storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeReset, UserID: u.ID, AuthRequestID: a.ID,
		TicketHash: f.c.Hasher.Hash("ticket", ticket), CodeHash: f.c.Hasher.Hash("code", code), Sends: 1,
		BrowserHash: browserHash, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(f.c.Reset.CodeTTL)}
	if err := f.c.Store.CreateCode(ctx, c, &m); err != nil {
		return out, fmt.Errorf("login: store reset code: %w", err)
	}
	f.audit(ctx, storage.AuditEvent{Type: "password_reset_requested", OrganizationID: u.OrganizationID, UserID: u.ID,
		ClientID: a.ClientID, IP: ip, Outcome: "success"}, now)
	f.c.Mailer.SendNow(ctx, m.ID)
	return out, nil
}

// ResetInput is the submission of the code and new password.
type ResetInput struct {
	Step
	Code, Password, Confirm string
}

// Reset checks the code and the new password and, when both are right,
// sets the password, ends every session of the user (their clients are
// told, every refresh token is revoked) and signs the user in to the
// request they came from, with a new session, after the strong factor
// when one is due.
// a is the sign-in the user came from, loaded with Request.
func (f *Flow) Reset(ctx context.Context, a storage.AuthRequest, in ResetInput) (SignedIn, storage.SessionEndResult, error) {
	var ended storage.SessionEndResult
	now := f.c.Now().UTC()
	rc := f.c.Reset
	c, err := f.c.Store.GetCodeByTicket(ctx, f.c.Hasher.Hash("ticket", in.Ticket))
	// Another browser's code is wrong, and counts no try against it.
	if errors.Is(err, storage.ErrNotFound) ||
		(err == nil && (c.Purpose != storage.PurposeReset || c.AuthRequestID != a.ID || !f.sameBrowser(c, in.StepToken))) {
		return SignedIn{Request: a}, ended, ErrWrongCode
	}
	if err != nil {
		return SignedIn{Request: a}, ended, fmt.Errorf("login: load code: %w", err)
	}
	_, err = f.checkCode(ctx, c, in.Code, rc.MaxFailures, nil,
		storage.AuditEvent{Type: "password_reset", ClientID: a.ClientID, IP: in.IP}, now)
	switch {
	case errors.Is(err, ErrCodeExhausted):
		return SignedIn{Request: a}, ended, err
	case errors.Is(err, ErrCodeExpired), errors.Is(err, ErrStepExpired):
		return SignedIn{Request: a}, ended, ErrWrongCode
	case err != nil:
		return SignedIn{Request: a}, ended, err
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil {
		return SignedIn{Request: a}, ended, fmt.Errorf("login: load user: %w", err)
	}
	hash, err := f.newPassword(ctx, u, in.Password, in.Confirm)
	if err != nil {
		// The code was right: the user may fix the password with it.
		if err := f.c.Store.ReturnCodeTry(ctx, c.ID); err != nil {
			f.c.Logger.WarnContext(ctx, "return code try", "err", err)
		}
		return SignedIn{Request: a}, ended, err
	}
	changed, err := f.passwordChangedMail(ctx, in.Lang, u, now, in.IP)
	if err != nil {
		return SignedIn{Request: a}, ended, err
	}
	end := f.c.Sessions.Prepare(storage.SessionEnd{UserID: u.ID, Now: now, Reason: storage.EndPasswordReset, RevokeAllTokens: true})
	ended, err = f.c.Store.ChangePassword(ctx, storage.PasswordChange{
		Code: &storage.CodeClaim{ID: c.ID, UserID: u.ID, Purpose: storage.PurposeReset, MaxFailures: rc.MaxFailures, Tried: true},
		Now:  now, UserID: u.ID, PasswordHash: hash, VerifyEmail: true, End: &end, Mail: changed,
		Audit: &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "password_reset", OrganizationID: u.OrganizationID, UserID: u.ID,
			ClientID: a.ClientID, IP: in.IP, Outcome: "success"}})
	if errors.Is(err, storage.ErrAlreadyUsed) {
		return SignedIn{Request: a}, ended, ErrWrongCode
	}
	if err != nil {
		return SignedIn{Request: a}, ended, fmt.Errorf("login: complete reset: %w", err)
	}
	f.sendNow(ctx, changed)
	if u.Imported() {
		f.audit(ctx, storage.AuditEvent{Type: "legacy_migrated", OrganizationID: u.OrganizationID, UserID: u.ID, ClientID: a.ClientID, IP: in.IP, Outcome: "success"}, now)
		t := now
		u.MigratedAt, u.LegacyHash = &t, ""
	}
	// The reset proved the mailbox and set a password: the sign-in the
	// user came from continues in a new session.
	u.MustChangePassword, u.EmailVerified = false, true
	s := f.stepSignIn(ctx, a, u, []string{AMRPassword, AMROTP}, in.Step)
	s.notify = false // the "password changed" mail says it
	s.unlockBy = "reset"
	res, err := f.completeAfterMailbox(ctx, s, now)
	return res, ended, err
}

// completeAfterMailbox completes a sign-in that a mailed code or link
// proved (a reset, an accepted invitation), after the strong factor when
// one is due: the mailbox is not the device, so a factor the user has is
// still asked (a reset never removes one) and mfa.policy required sets
// one up first.
func (f *Flow) completeAfterMailbox(ctx context.Context, s signIn, now time.Time) (SignedIn, error) {
	due, fs, err := f.mfaDue(ctx, &s)
	if err != nil {
		return SignedIn{Request: s.a}, err
	}
	if due {
		return f.mfaChallenge(ctx, &s, fs, now)
	}
	return f.completeSignIn(ctx, s, now)
}

// sleepUntil waits until t (or ctx ends).
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
