package login

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/identifier"
	"github.com/sekisho/sekisho/mail"
	"github.com/sekisho/sekisho/password"
	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// OTP policies (otp.policy): when the emailed sign-in step follows the
// password.
const (
	OTPOff       = "off"
	OTPOptional  = "optional"   // users who turned it on
	OTPNewDevice = "new_device" // browsers that have not passed it for the user
	OTPAlways    = "always"
)

// Sign-in notification modes (notify.login).
const (
	NotifyOff       = "off"
	NotifyNewDevice = "new_device"
	NotifyAlways    = "always"
)

// OTPConfig configures the emailed sign-in step and the sign-in mails.
type OTPConfig struct {
	Policy string
	// ClientRequires reports whether a client requires the step whatever
	// the policy (clients[].otp: always). Nil: none does.
	ClientRequires func(clientID string) bool
	CodeTTL        time.Duration // 5 minutes
	MaxFailures    int           // 5, per code
	// MaxFailuresPerHour caps the wrong codes of an account in an hour,
	// across its codes (10).
	MaxFailuresPerHour int
	Cooldown           time.Duration // between two mails, 30 s
	MaxSendsPerHour    int
	// RememberDevice is how long a browser that passed the step skips it
	// (new_device), and the device cookie's lifetime.
	RememberDevice time.Duration
	NotifyLogin    string
}

func (c OTPConfig) validMinutes() int { return int(c.CodeTTL / time.Minute) }

// Errors of the emailed step and the forced change.
var (
	// ErrCodeExpired: the code's time is over; a new one can be sent.
	ErrCodeExpired = errors.New("login: the code expired")
	// ErrTooManyCodes: the hourly cap of mailed codes is reached.
	ErrTooManyCodes = errors.New("login: too many codes sent")
	// ErrStepExpired: the step (its ticket) is gone or spent; the user
	// signs in again.
	ErrStepExpired = errors.New("login: the sign-in step expired")
	// ErrTooManyAttempts: the account's wrong codes of the hour reached
	// the cap; codes are refused until the hour is over.
	ErrTooManyAttempts = errors.New("login: too many wrong codes for the account")
)

// CooldownError: a new code was asked for too soon after the last one.
type CooldownError struct{ Left time.Duration }

func (e *CooldownError) Error() string { return fmt.Sprintf("login: next code in %s", e.Left) }

// Seconds is the wait, rounded up.
func (e *CooldownError) Seconds() int { return ceilSeconds(e.Left) }

// ceilSeconds is d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// Challenge is the emailed step waiting for its code.
type Challenge struct {
	Ticket       string // names the code; the page carries it
	MaskedEmail  string
	ValidMinutes int
	// ResendIn is what is left of the resend cooldown: no new code
	// before then.
	ResendIn time.Duration
}

// ResendSeconds is ResendIn in whole seconds, rounded up.
func (c Challenge) ResendSeconds() int { return ceilSeconds(c.ResendIn) }

// signIn is a sign-in in progress: who, what was proved so far, and the
// browser it happens in.
type signIn struct {
	a           storage.AuthRequest
	u           storage.User
	amr         []string
	ip, ua      string
	lang        string
	old         *storage.Session    // the browser's active session, if any
	audit       *storage.AuditEvent // written with the completion
	claim       *storage.CodeClaim  // the code the completion spends
	deviceToken string              // the browser's device cookie, if any
	stepToken   string              // the browser's step cookie, if any (bindStep makes one)
	device      *storage.Device     // its record for u, when known
	loaded      bool                // device was looked up
	notify      bool                // a sign-in mail may go out (notify.login)
	acr         string              // overrides the ACR of amr (a legacy sign-in)
	unlockBy    string              // what ends a dormant lock: "link" (default), "reset"
}

// acrValue is the sign-in's ACR.
func (s signIn) acrValue() string {
	if s.acr != "" {
		return s.acr
	}
	return acrOf(s.amr)
}

// acr is the ACR value of what was proved.
func acrOf(amr []string) string {
	switch {
	case hasAMR(amr, AMRHardwareKey, AMRSoftwareKey):
		return ACRPasskey
	case hasAMR(amr, AMRMFA):
		return ACRMFA
	}
	if slices.Contains(amr, AMROTP) {
		return ACRPasswordEmailCode
	}
	return ACRPassword
}

// otpRequired reports whether the step is required whatever the browser:
// by the client, by the request's acr_values, by the policy, or by the
// user's own choice.
func (f *Flow) otpRequired(a storage.AuthRequest, u storage.User) bool {
	if f.c.OTP.ClientRequires != nil && f.c.OTP.ClientRequires(a.ClientID) {
		return true
	}
	if slices.Contains(a.ACRValues, ACRPasswordEmailCode) {
		return true
	}
	switch f.c.OTP.Policy {
	case OTPAlways:
		return true
	case OTPOptional:
		return u.OTPEnabled
	}
	return false
}

// otpDue reports whether the step runs for s (new_device: unless this
// browser passed it for the user within RememberDevice).
func (f *Flow) otpDue(s *signIn, now time.Time) bool {
	if hasAMR(s.amr, AMROTP, AMRMFA) {
		return false
	}
	if f.otpRequired(s.a, s.u) {
		return true
	}
	if f.c.OTP.Policy != OTPNewDevice {
		return false
	}
	d := s.device
	return d == nil || d.OTPAt == nil || now.Sub(*d.OTPAt) >= f.c.OTP.RememberDevice
}

// tracksDevices: the device cookie is needed by the policy or the mails.
func (f *Flow) tracksDevices() bool {
	return f.c.OTP.Policy == OTPNewDevice || f.c.OTP.NotifyLogin == NotifyNewDevice
}

// loadDevice looks up the browser's device record for the user, once.
func (f *Flow) loadDevice(ctx context.Context, s *signIn, now time.Time) {
	if s.loaded || !f.tracksDevices() || s.deviceToken == "" {
		return
	}
	s.loaded = true
	d, err := f.c.Store.GetDevice(ctx, f.c.Hasher.Hash("device", s.deviceToken), s.u.ID)
	switch {
	case err == nil && now.Before(d.ExpiresAt):
		s.device = &d
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		// Unknown is the safe answer: the step is asked for.
		f.c.Logger.WarnContext(ctx, "load device", "err", err)
	}
}

// next runs what follows a proven password (and code): the emailed step
// when due, a forced password change, or the sign-in itself. A step is
// bound to the browser (StepToken).
func (f *Flow) next(ctx context.Context, s signIn, now time.Time) (SignedIn, error) {
	f.loadDevice(ctx, &s, now)
	// A strong factor, when due, replaces the emailed code.
	due, fs, err := f.mfaDue(ctx, &s)
	if err != nil {
		return SignedIn{Request: s.a}, err
	}
	if due {
		if s.claim != nil {
			// The step that led here (a reset code) is spent now.
			if err := f.c.Store.ClaimCode(ctx, *s.claim, now); err != nil {
				return SignedIn{Request: s.a}, err
			}
		}
		return f.mfaChallenge(ctx, &s, fs, now)
	}
	if f.otpDue(&s, now) {
		if !f.mailable(s.u) {
			// Only the administrators can register an address.
			f.audit(ctx, storage.AuditEvent{Type: "login", OrganizationID: s.u.OrganizationID, UserID: s.u.ID,
				ClientID: s.a.ClientID, IP: s.ip, Outcome: "failure", Detail: "no_address"}, now)
			return SignedIn{Request: s.a}, ErrNoAddress
		}
		browser := f.bindStep(&s.stepToken)
		ch, err := f.challenge(ctx, s.a, s.u, s.acr, now, s.lang, browser)
		if err == nil {
			f.audit(ctx, storage.AuditEvent{Type: "login", OrganizationID: s.u.OrganizationID, UserID: s.u.ID, ClientID: s.a.ClientID,
				IP: s.ip, Outcome: "challenge", Detail: "otp_sent"}, now)
		}
		return SignedIn{Request: s.a, Challenge: &ch, StepToken: s.stepToken}, err
	}
	if s.u.MustChangePassword {
		browser := f.bindStep(&s.stepToken)
		ticket, err := f.changeTicket(ctx, s, browser, now)
		return SignedIn{Request: s.a, ChangeTicket: ticket, ChangeAccount: f.managerName(s.u), StepToken: s.stepToken}, err
	}
	return f.completeSignIn(ctx, s, now)
}

// stepKind is the hash domain of step cookies.
const stepKind = "step"

// bindStep returns the keyed hash a step stores to stay with the browser:
// of the browser's step cookie *token, or of a new one put there (the
// handlers set it).
func (f *Flow) bindStep(token *string) string {
	if *token == "" {
		*token = secret.RandomToken(32)
	}
	return f.c.Hasher.Hash(stepKind, *token)
}

// sameBrowser reports whether a step's code was started by the browser
// whose step cookie is token.
func (f *Flow) sameBrowser(c storage.OneTimeCode, token string) bool {
	return token != "" && c.BrowserHash != "" && secret.Equal(c.BrowserHash, f.c.Hasher.Hash(stepKind, token))
}

// challenge mails a new code for a and returns the step's ticket; the
// step is bound to browserHash.
func (f *Flow) challenge(ctx context.Context, a storage.AuthRequest, u storage.User, acr string, now time.Time, lang, browserHash string) (Challenge, error) {
	if err := f.countSend(ctx, u.ID, now); err != nil {
		return Challenge{}, err
	}
	ticket, code := secret.RandomToken(32), secret.RandomDigits(6)
	m, err := f.composeCode(lang, u, code)
	if err != nil {
		return Challenge{}, err
	}
	c := storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeLogin, UserID: u.ID, AuthRequestID: a.ID,
		TicketHash: f.c.Hasher.Hash("ticket", ticket), CodeHash: f.c.Hasher.Hash("code", code), Sends: 1, ACR: acr,
		BrowserHash: browserHash, CreatedAt: now, SentAt: now, ExpiresAt: now.Add(f.c.OTP.CodeTTL)}
	if err := f.c.Store.CreateCode(ctx, c, &m); err != nil {
		return Challenge{}, fmt.Errorf("login: store sign-in code: %w", err)
	}
	f.c.Mailer.SendNow(ctx, m.ID)
	return Challenge{Ticket: ticket, MaskedEmail: MaskEmail(u.Email), ValidMinutes: f.c.OTP.validMinutes(), ResendIn: f.c.OTP.Cooldown}, nil
}

// countSend applies the hourly cap of mailed codes per user.
func (f *Flow) countSend(ctx context.Context, userID string, now time.Time) error {
	ok, err := f.withinHourlyCap(ctx, "otp:send:"+userID, f.c.OTP.MaxSendsPerHour, now)
	if err == nil && !ok {
		err = ErrTooManyCodes
	}
	return err
}

// withinHourlyCap counts one more mail under key and reports whether it
// stays within limit an hour; over it, nothing is counted. The count is
// taken atomically, so concurrent requests never pass the cap together.
func (f *Flow) withinHourlyCap(ctx context.Context, key string, limit int, now time.Time) (bool, error) {
	ok, err := f.c.Store.TakeAttempt(ctx, now, hourlyCap(key, limit))
	if err != nil {
		return false, fmt.Errorf("login: count %s: %w", key, err)
	}
	return ok, nil
}

// hourlyCap is the limit of at most n attempts an hour under key.
func hourlyCap(key string, n int) storage.Limit {
	return storage.Limit{Key: key, Free: n, Window: time.Hour}
}

func (f *Flow) composeCode(lang string, u storage.User, code string) (storage.OutboxMail, error) {
	return f.c.Mailer.Compose(lang, templates.MailLoginCode, mail.Address{Name: u.Name, Email: u.Email},
		&templates.LoginCodeMail{Code: code, ValidMinutes: f.c.OTP.validMinutes()})
}

// ticketCode loads the code a page's ticket names, for a and purpose, in
// the browser that started the step (stepToken: its step cookie);
// ErrStepExpired when there is none, it is spent, or the browser is
// another.
func (f *Flow) ticketCode(ctx context.Context, a storage.AuthRequest, ticket, purpose, stepToken string) (storage.OneTimeCode, error) {
	if ticket == "" {
		return storage.OneTimeCode{}, ErrStepExpired
	}
	c, err := f.c.Store.GetCodeByTicket(ctx, f.c.Hasher.Hash("ticket", ticket))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return c, ErrStepExpired
	case err != nil:
		return c, fmt.Errorf("login: load code: %w", err)
	case c.Purpose != purpose || c.AuthRequestID != a.ID || c.UsedAt != nil || !f.sameBrowser(c, stepToken):
		return c, ErrStepExpired
	}
	return c, nil
}

// ChallengeOf describes a waiting step again (to show its page after an
// error), in the browser that started it (stepToken).
func (f *Flow) ChallengeOf(ctx context.Context, a storage.AuthRequest, ticket, stepToken string) (Challenge, error) {
	c, err := f.ticketCode(ctx, a, ticket, storage.PurposeLogin, stepToken)
	if err != nil {
		return Challenge{}, err
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil {
		return Challenge{}, fmt.Errorf("login: load user: %w", err)
	}
	return Challenge{Ticket: ticket, MaskedEmail: MaskEmail(u.Email), ValidMinutes: f.c.OTP.validMinutes(),
		ResendIn: f.resendIn(c, f.c.Now().UTC())}, nil
}

// resendIn is what is left of the resend cooldown of the step's code c
// at now, or 0.
func (f *Flow) resendIn(c storage.OneTimeCode, now time.Time) time.Duration {
	return max(c.SentAt.Add(f.c.OTP.Cooldown).Sub(now), 0)
}

// Step is what a step of a sign-in (code, reset, forced change) brings
// from the browser.
type Step struct {
	Ticket       string // names the step's code
	IP           string
	UserAgent    string
	SessionToken string // the browser's session cookie, if any
	DeviceToken  string // the browser's device cookie, if any
	StepToken    string // the browser's step cookie: the step must have been started with it
	Lang         string // of mails
}

// stepSignIn is the sign-in a step continues: u proved amr in the
// browser st comes from.
func (f *Flow) stepSignIn(ctx context.Context, a storage.AuthRequest, u storage.User, amr []string, st Step) signIn {
	s := signIn{a: a, u: u, amr: amr, ip: st.IP, ua: st.UserAgent, lang: st.Lang, deviceToken: st.DeviceToken,
		stepToken: st.StepToken, notify: true, audit: &storage.AuditEvent{Type: "login", ClientID: a.ClientID, IP: st.IP}}
	if o, ok := f.Session(ctx, st.SessionToken); ok {
		s.old = &o
	}
	return s
}

// OTPInput is a submission of the emailed code.
type OTPInput struct {
	Step
	Code string
}

// VerifyOTP checks the code of the step and, when it is right, goes on
// with the sign-in (a forced password change, or the session). The try is
// taken before the comparison, from the code (the last allowed wrong code
// ends it: ErrCodeExhausted, and the user starts again from the password)
// and from the account's wrong codes of the hour (at the cap,
// ErrTooManyAttempts until the hour is over, and the owner gets one
// notice). A right code gives the account's try back.
func (f *Flow) VerifyOTP(ctx context.Context, a storage.AuthRequest, in OTPInput) (SignedIn, error) {
	now := f.c.Now().UTC()
	fail := SignedIn{Request: a}
	c, err := f.ticketCode(ctx, a, in.Ticket, storage.PurposeLogin, in.StepToken)
	if err != nil {
		return fail, err
	}
	limit := hourlyCap("otp:fail:"+c.UserID, f.c.OTP.MaxFailuresPerHour)
	try, err := f.checkCode(ctx, c, in.Code, f.c.OTP.MaxFailures, &limit,
		storage.AuditEvent{Type: "login", ClientID: a.ClientID, IP: in.IP}, now)
	if try.Taken && err != nil && try.Counter.Count >= limit.Free {
		// This wrong code reached the account's cap.
		f.noticeCodeFailures(ctx, limit, try.Counter, c.UserID, in.Step, now)
		return fail, ErrTooManyAttempts
	}
	if err != nil {
		return fail, err
	}
	if err := f.c.Store.ReturnAttempt(ctx, limit.Key); err != nil {
		f.c.Logger.WarnContext(ctx, "return code attempt", "err", err)
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil || u.Disabled {
		return fail, ErrStepExpired
	}
	s := f.stepSignIn(ctx, a, u, []string{AMRPassword, AMROTP}, in.Step)
	s.acr = c.ACR
	s.claim = &storage.CodeClaim{ID: c.ID, UserID: u.ID, Purpose: storage.PurposeLogin, MaxFailures: f.c.OTP.MaxFailures, Tried: true}
	res, err := f.next(ctx, s, now)
	if errors.Is(err, storage.ErrAlreadyUsed) {
		return fail, ErrStepExpired
	}
	return res, err
}

// checkCode takes one try of c before input is compared with it (and,
// with limit, one attempt of the account's), compares it when the try
// was taken, and records the check: nil when the code is right. Tries
// the limits refuse are not compared and are recorded as refused.
func (f *Flow) checkCode(ctx context.Context, c storage.OneTimeCode, input string, max int, limit *storage.Limit,
	e storage.AuditEvent, now time.Time) (storage.CodeTryResult, error) {
	try, err := f.c.Store.TakeCodeTry(ctx, storage.CodeTry{ID: c.ID, MaxFailures: max, Now: now, Limit: limit})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return try, ErrStepExpired
	case err != nil:
		return try, fmt.Errorf("login: take code try: %w", err)
	}
	e.UserID, e.Outcome = c.UserID, "failure"
	if !try.Taken {
		switch {
		case try.Code.UsedAt != nil:
			return try, ErrStepExpired
		case try.Limited:
			e.Detail, err = "too_many_attempts", ErrTooManyAttempts
		case try.Code.Failures >= max:
			e.Detail, err = "too_many_attempts", ErrCodeExhausted
		default:
			e.Detail, err = "expired_code", ErrCodeExpired
		}
		f.audit(ctx, e, now)
		return try, err
	}
	// The code as the try found it: a resend may have replaced it since
	// the ticket was read.
	if !secret.Equal(try.Code.CodeHash, f.c.Hasher.Hash("code", strings.TrimSpace(input))) {
		e.Detail = "wrong_code"
		f.audit(ctx, e, now)
		if try.Code.Failures >= max {
			return try, ErrCodeExhausted
		}
		return try, ErrWrongCode
	}
	return try, nil
}

// noticeCodeFailures mails the account's owner, once per hour, that
// codes are refused after too many wrong ones: whoever typed them knew
// the password.
func (f *Flow) noticeCodeFailures(ctx context.Context, limit storage.Limit, counter storage.Counter, userID string, st Step, now time.Time) {
	u, err := f.c.Store.GetUser(ctx, userID)
	if err != nil {
		f.c.Logger.WarnContext(ctx, "code failure notice: load user", "err", err)
		return
	}
	lang := st.Lang
	if u.Lang != "" {
		lang = u.Lang
	}
	loc := f.Zone(ctx, u)
	m, err := f.c.Mailer.Compose(lang, templates.MailCodeFailures, mail.Address{Name: u.Name, Email: u.Email},
		&templates.CodeFailuresMail{Failures: counter.Count, Time: now.In(loc), IP: st.IP, Until: counter.WindowStart.Add(limit.Window).In(loc)})
	if err != nil {
		f.c.Logger.WarnContext(ctx, "code failure notice: compose", "err", err)
		return
	}
	wrote, err := f.c.Store.NoticeAtLimit(ctx, limit, now, m)
	if err != nil {
		f.c.Logger.WarnContext(ctx, "code failure notice", "err", err)
		return
	}
	if wrote {
		f.c.Mailer.SendNow(ctx, m.ID)
	}
}

// Resend mails a new code for the step, asked in the browser that started
// it (stepToken): the previous code stops working, the wrong tries stay
// counted. At most one mail per cooldown (*CooldownError) and
// MaxSendsPerHour per user (ErrTooManyCodes).
func (f *Flow) Resend(ctx context.Context, a storage.AuthRequest, ticket, stepToken, lang string) (Challenge, error) {
	now := f.c.Now().UTC()
	c, err := f.ticketCode(ctx, a, ticket, storage.PurposeLogin, stepToken)
	if err != nil {
		return Challenge{}, err
	}
	if c.Failures >= f.c.OTP.MaxFailures {
		return Challenge{}, ErrCodeExhausted
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil {
		return Challenge{}, fmt.Errorf("login: load user: %w", err)
	}
	ch := Challenge{Ticket: ticket, MaskedEmail: MaskEmail(u.Email), ValidMinutes: f.c.OTP.validMinutes(), ResendIn: f.resendIn(c, now)}
	if ch.ResendIn > 0 {
		return ch, &CooldownError{Left: ch.ResendIn}
	}
	if err := f.countSend(ctx, u.ID, now); err != nil {
		return ch, err
	}
	code := secret.RandomDigits(6)
	m, err := f.composeCode(lang, u, code)
	if err != nil {
		return ch, err
	}
	_, err = f.c.Store.RenewCode(ctx, storage.CodeRenewal{ID: c.ID, CodeHash: f.c.Hasher.Hash("code", code), Now: now,
		ExpiresAt: now.Add(f.c.OTP.CodeTTL), MaxFailures: f.c.OTP.MaxFailures, Mail: m})
	switch {
	case errors.Is(err, storage.ErrConflict):
		return ch, ErrCodeExhausted
	case err != nil:
		return ch, fmt.Errorf("login: renew code: %w", err)
	}
	f.c.Mailer.SendNow(ctx, m.ID)
	ch.ResendIn = f.c.OTP.Cooldown
	return ch, nil
}

// changeTicket spends the step's code (if any) and starts the forced
// password change, bound to browserHash, which remembers what the
// sign-in proved.
func (f *Flow) changeTicket(ctx context.Context, s signIn, browserHash string, now time.Time) (string, error) {
	if s.claim != nil {
		if err := f.c.Store.ClaimCode(ctx, *s.claim, now); err != nil {
			return "", err
		}
	}
	ticket := secret.RandomToken(32)
	c := storage.OneTimeCode{ID: uuid.NewString(), Purpose: storage.PurposeChange, UserID: s.u.ID, AuthRequestID: s.a.ID,
		TicketHash: f.c.Hasher.Hash("ticket", ticket), CodeHash: "-", AMR: s.amr, ACR: s.acr, BrowserHash: browserHash,
		CreatedAt: now, SentAt: now, ExpiresAt: s.a.ExpiresAt}
	if err := f.c.Store.CreateCode(ctx, c, nil); err != nil {
		return "", fmt.Errorf("login: start password change: %w", err)
	}
	return ticket, nil
}

// ChangeInput is a submission of the forced password change.
type ChangeInput struct {
	Step
	Password, Confirm string
}

// ForcedChange sets the new password of a user who must change it, ends
// their other sessions (clients are told, every token is revoked: an
// administrator may have asked for the change after a compromise) and
// finishes the sign-in with what it proved before.
func (f *Flow) ForcedChange(ctx context.Context, a storage.AuthRequest, in ChangeInput) (SignedIn, storage.SessionEndResult, error) {
	var ended storage.SessionEndResult
	now := f.c.Now().UTC()
	fail := SignedIn{Request: a}
	c, err := f.ticketCode(ctx, a, in.Ticket, storage.PurposeChange, in.StepToken)
	if err == nil && !now.Before(c.ExpiresAt) {
		err = ErrStepExpired
	}
	if err != nil {
		return fail, ended, err
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil || u.Disabled {
		return fail, ended, ErrStepExpired
	}
	hash, err := f.newPassword(ctx, u, in.Password, in.Confirm)
	if err != nil {
		return fail, ended, err
	}
	changed, err := f.passwordChangedMail(ctx, in.Lang, u, now, in.IP)
	if err != nil {
		return fail, ended, err
	}
	end := f.c.Sessions.Prepare(storage.SessionEnd{UserID: u.ID, Now: now, Reason: storage.EndPasswordChange, RevokeAllTokens: true})
	ended, err = f.c.Store.ChangePassword(ctx, storage.PasswordChange{
		Code: &storage.CodeClaim{ID: c.ID, UserID: u.ID, Purpose: storage.PurposeChange, MaxFailures: 1},
		Now:  now, UserID: u.ID, PasswordHash: hash, End: &end, Mail: changed,
		Audit: &storage.AuditEvent{ID: uuid.NewString(), Time: now, Type: "password_changed", OrganizationID: u.OrganizationID, UserID: u.ID,
			ClientID: a.ClientID, IP: in.IP, Outcome: "success", Detail: "forced"}})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return fail, ended, ErrStepExpired
	case err != nil:
		return fail, ended, fmt.Errorf("login: change password: %w", err)
	}
	f.sendNow(ctx, changed)
	u.MustChangePassword = false
	s := f.stepSignIn(ctx, a, u, c.AMR, in.Step)
	s.acr = c.ACR
	res, err := f.completeSignIn(ctx, s, now)
	return res, ended, err
}

// newPassword checks a new password (confirmation, policy) and hashes it.
func (f *Flow) newPassword(ctx context.Context, u storage.User, pw, confirm string) (string, error) {
	return f.NewPassword(ctx, password.Subject{Email: u.Email, Name: u.Name, IsCurrent: func(p string) bool {
		ok, _, _ := f.c.Passwords.Verify(ctx, u.PasswordHash, p)
		return ok
	}}, pw, confirm)
}

// NewAccountRules are the rules of the password policy that a first
// password (an invitation's, an initial one) must follow, as forms list
// them: every rule but "not the current one".
func (f *Flow) NewAccountRules() []password.Rule {
	rules := f.c.Policy.Rules()
	return slices.DeleteFunc(rules, func(r password.Rule) bool { return r.Key == password.KeySameAsCurrent })
}

// NewPassword checks a new password for the account subject describes
// (confirmation: ErrPasswordMismatch; policy: *PolicyError) and hashes
// it, under the hashing gate. The console sets initial passwords with it.
func (f *Flow) NewPassword(ctx context.Context, subject password.Subject, pw, confirm string) (string, error) {
	if pw != confirm {
		return "", ErrPasswordMismatch
	}
	if v := f.c.Policy.Check(pw, subject); len(v) > 0 {
		return "", &PolicyError{Violations: v}
	}
	norm, _ := password.Normalize(pw)
	hash, err := f.c.Passwords.Hash(ctx, norm)
	if err != nil {
		return "", fmt.Errorf("login: hash password: %w", err)
	}
	return hash, nil
}

// passwordChangedMail is the "your password was changed" mail to u; nil
// when u has no address mails may go to.
func (f *Flow) passwordChangedMail(ctx context.Context, lang string, u storage.User, now time.Time, ip string) (*storage.OutboxMail, error) {
	if !f.mailable(u) {
		return nil, nil
	}
	m, err := f.c.Mailer.Compose(lang, templates.MailPasswordChanged, mail.Address{Name: u.Name, Email: u.Email},
		&templates.PasswordChangedMail{Time: now.In(f.Zone(ctx, u)), IP: ip})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// sendNow sends m at once, when there is one.
func (f *Flow) sendNow(ctx context.Context, m *storage.OutboxMail) {
	if m != nil {
		f.c.Mailer.SendNow(ctx, m.ID)
	}
}

// MaskEmail hides most of an address: "a***@example.com".
func MaskEmail(email string) string { return identifier.Mask(email) }
