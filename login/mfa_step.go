package login

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/sekisho/sekisho/secret"
	"github.com/sekisho/sekisho/storage"
	"github.com/sekisho/sekisho/templates"
)

// mfaStepTTL bounds a second-factor step (and an enrolment at sign-in)
// within its auth request's lifetime.
const mfaStepTTL = 10 * time.Minute

// Methods of the second-factor step (the form's "method").
const (
	MethodTOTP     = "totp"
	MethodRecovery = "recovery"
	// MethodPasskey is the passkey helper's (a WebAuthn assertion).
	MethodPasskey = "passkey"
	MethodEnrol   = "enrol"
)

// MFAChallenge is the second-factor step waiting for a factor, or the
// enrolment a sign-in requires (Enrol set).
type MFAChallenge struct {
	Ticket string // names the step; the page carries it
	// TOTP, Passkey and Recovery say what the user can answer with.
	TOTP, Passkey, Recovery bool
	// Enrol, when set, is the authenticator app to set up before the
	// sign-in may go on (mfa.policy required, no factor yet).
	Enrol *TOTPEnrolment
	// PasskeyEnrol, with Enrol, offers registering a passkey instead.
	PasskeyEnrol bool
	// RecoveryCodes, after an enrolment at sign-in, are shown once; the
	// sign-in is complete then and Continue goes on to the application.
	RecoveryCodes []string
}

// supportedACR is the first value of acr_values the server supports (OIDC
// Core: in order of preference, voluntary: unknown values are ignored).
func supportedACR(a storage.AuthRequest) string {
	for _, v := range a.ACRValues {
		switch v {
		case ACRPassword, ACRPasswordEmailCode, ACRMFA, ACRPasskey, ACRLegacy:
			return v
		}
	}
	return ""
}

// Satisfies reports whether a sign-in that proved amr satisfies the ACR
// value acr (step-up asks for a factor when it does not).
func Satisfies(amr []string, acr string) bool {
	switch acr {
	case ACRMFA:
		return hasAMR(amr, AMRMFA)
	case ACRPasskey:
		return hasAMR(amr, AMRHardwareKey, AMRSoftwareKey)
	case ACRPasswordEmailCode:
		return hasAMR(amr, AMROTP, AMRMFA)
	}
	return true
}

// mfaNeeded reports whether a sign-in of u for a that proved amr must
// still pass a strong factor whatever the user chose: the policy (with the
// client's) requires one, or acr_values asks for a level amr does not
// satisfy. Under policy off nothing is asked (acr_values is voluntary).
func (f *Flow) mfaNeeded(ctx context.Context, a storage.AuthRequest, u storage.User, amr []string) bool {
	return mfaNeededUnder(f.requestMFAPolicy(ctx, a, u), a, amr)
}

// mfaNeededUnder is mfaNeeded under the request's policy p.
func mfaNeededUnder(p string, a storage.AuthRequest, amr []string) bool {
	if p == MFAOff || hasAMR(amr, AMRMFA) {
		return false
	}
	if acr := supportedACR(a); acr == ACRMFA || acr == ACRPasskey {
		return !Satisfies(amr, acr)
	}
	return p == MFARequired
}

// mfaDue reports whether the second-factor step runs after s's password:
// needed (mfaNeeded), or the user has a strong factor and the policy is
// not off.
func (f *Flow) mfaDue(ctx context.Context, s *signIn) (bool, Factors, error) {
	if hasAMR(s.amr, AMRMFA) {
		return false, Factors{}, nil
	}
	p := f.requestMFAPolicy(ctx, s.a, s.u)
	if p == MFAOff {
		return false, Factors{}, nil
	}
	fs, err := f.Factors(ctx, s.u.ID)
	if err != nil {
		return false, fs, err
	}
	return fs.Strong() || mfaNeededUnder(p, s.a, s.amr), fs, nil
}

// mfaChallenge starts the second-factor step of s (or, for a user without
// a strong factor, the enrolment of an authenticator app), bound to the
// browser and the auth request.
func (f *Flow) mfaChallenge(ctx context.Context, s *signIn, fs Factors, now time.Time) (SignedIn, error) {
	browser := f.bindStep(&s.stepToken)
	purpose := storage.PurposeMFA
	ch := MFAChallenge{TOTP: fs.TOTP != nil, Passkey: fs.Passkeys > 0, Recovery: fs.RecoveryCodes > 0}
	if !fs.Strong() {
		purpose = storage.PurposeMFAEnrol
		e, err := f.startTOTP(ctx, s.u)
		if err != nil {
			return SignedIn{Request: s.a}, err
		}
		ch = MFAChallenge{Enrol: &e, PasskeyEnrol: f.rp != nil}
	}
	ch.Ticket = secret.RandomToken(32)
	exp := now.Add(mfaStepTTL)
	if s.a.ExpiresAt.Before(exp) {
		exp = s.a.ExpiresAt
	}
	c := storage.OneTimeCode{ID: uuid.NewString(), Purpose: purpose, UserID: s.u.ID, AuthRequestID: s.a.ID,
		TicketHash: f.c.Hasher.Hash("ticket", ch.Ticket), CodeHash: "-", AMR: s.amr, ACR: s.acr, BrowserHash: browser,
		Sends: 1, CreatedAt: now, SentAt: now, ExpiresAt: exp}
	if err := f.c.Store.CreateCode(ctx, c, nil); err != nil {
		return SignedIn{Request: s.a}, fmt.Errorf("login: start second-factor step: %w", err)
	}
	f.audit(ctx, storage.AuditEvent{Type: "login", OrganizationID: s.u.OrganizationID, UserID: s.u.ID, ClientID: s.a.ClientID,
		IP: s.ip, Outcome: "challenge", Detail: purpose}, now)
	return SignedIn{Request: s.a, MFA: &ch, StepToken: s.stepToken}, nil
}

// MFAChallengeOf describes a waiting second-factor step again (a wrong
// code, another method, a language switch), in the browser that started
// it.
func (f *Flow) MFAChallengeOf(ctx context.Context, a storage.AuthRequest, ticket, stepToken string) (MFAChallenge, error) {
	c, err := f.mfaTicket(ctx, a, ticket, stepToken)
	if err != nil {
		return MFAChallenge{}, err
	}
	if c.Purpose == storage.PurposeMFAEnrol {
		u, err := f.c.Store.GetUser(ctx, c.UserID)
		if err != nil {
			return MFAChallenge{}, fmt.Errorf("login: load user: %w", err)
		}
		e, err := f.PendingTOTP(ctx, u)
		if err != nil {
			return MFAChallenge{}, ErrStepExpired
		}
		return MFAChallenge{Ticket: ticket, Enrol: &e, PasskeyEnrol: f.rp != nil}, nil
	}
	fs, err := f.Factors(ctx, c.UserID)
	if err != nil {
		return MFAChallenge{}, err
	}
	return MFAChallenge{Ticket: ticket, TOTP: fs.TOTP != nil, Passkey: fs.Passkeys > 0, Recovery: fs.RecoveryCodes > 0}, nil
}

// mfaTicket loads the step a ticket names (either purpose), unexpired.
func (f *Flow) mfaTicket(ctx context.Context, a storage.AuthRequest, ticket, stepToken string) (storage.OneTimeCode, error) {
	c, err := f.ticketCode(ctx, a, ticket, storage.PurposeMFA, stepToken)
	if errors.Is(err, ErrStepExpired) && c.Purpose == storage.PurposeMFAEnrol {
		c, err = f.ticketCode(ctx, a, ticket, storage.PurposeMFAEnrol, stepToken)
	}
	if err == nil && !f.c.Now().Before(c.ExpiresAt) {
		err = ErrStepExpired
	}
	return c, err
}

// MFAInput is a submission of the second-factor step.
type MFAInput struct {
	Step
	Method string // Method*
	// Code is the code typed, or the passkey's answer (JSON).
	Code string
	// Ceremony, with MethodPasskey, is the token of the passkey's
	// ceremony (BeginPasskeyFactor, BeginPasskeyEnrolment), and Name the
	// name of a passkey registered at an enrolment.
	Ceremony, Name string
}

// VerifyMFA checks the factor of the step and, when it is right, goes on
// with the sign-in. Tries are taken before the check, as the emailed
// code's: from the step (otp.max_failures) and from the account's wrong
// codes of the hour (otp.max_failures_per_hour, shared with the emailed
// code). A code of the authenticator app is accepted once (its time step,
// on any replica); a recovery code once, and its use is mailed. An
// enrolment at sign-in confirms the app and returns the recovery codes
// to show, with the sign-in complete.
func (f *Flow) VerifyMFA(ctx context.Context, a storage.AuthRequest, in MFAInput) (SignedIn, error) {
	now := f.c.Now().UTC()
	fail := SignedIn{Request: a}
	c, err := f.mfaTicket(ctx, a, in.Ticket, in.StepToken)
	if err != nil {
		return fail, err
	}
	limit := hourlyCap("otp:fail:"+c.UserID, f.c.OTP.MaxFailuresPerHour)
	try, err := f.c.Store.TakeCodeTry(ctx, storage.CodeTry{ID: c.ID, MaxFailures: f.c.OTP.MaxFailures, Now: now, Limit: &limit})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return fail, ErrStepExpired
	case err != nil:
		return fail, fmt.Errorf("login: take factor try: %w", err)
	case !try.Taken && try.Limited:
		return fail, ErrTooManyAttempts
	case !try.Taken && try.Code.UsedAt == nil && try.Code.Failures >= f.c.OTP.MaxFailures:
		return fail, ErrCodeExhausted
	case !try.Taken:
		return fail, ErrStepExpired
	}
	u, err := f.c.Store.GetUser(ctx, c.UserID)
	if err != nil || u.Disabled {
		return fail, ErrStepExpired
	}
	e := storage.AuditEvent{Type: "login", OrganizationID: u.OrganizationID, UserID: u.ID, ClientID: a.ClientID, IP: in.IP,
		Outcome: "failure"}
	var codes []string
	amr := []string{AMROTP, AMRMFA}
	fi := FactorInput{IP: in.IP, Lang: in.Lang}
	switch {
	case c.Purpose == storage.PurposeMFAEnrol && in.Method == MethodPasskey:
		var proved []string
		codes, proved, err = f.registerPasskey(ctx, u, in.Name, a.ID, a.ClientID,
			PasskeyAnswer{Ceremony: in.Ceremony, Response: in.Code, StepToken: in.StepToken}, fi)
		if err == nil {
			amr = mergeAMR(proved, AMRMFA)
			f.dropPendingTOTP(ctx, u.ID)
		}
		e.Detail = "wrong_passkey"
	case c.Purpose == storage.PurposeMFAEnrol:
		codes, err = f.confirmTOTP(ctx, u, in.Code, fi, a.ClientID)
		e.Detail = "wrong_totp"
	case in.Method == MethodRecovery:
		err = f.useRecoveryCode(ctx, u, in.Code, fi, a.ClientID, now)
		e.Detail = "wrong_recovery_code"
	case in.Method == MethodPasskey:
		var proved []string
		if proved, err = f.usePasskeyFactor(ctx, a, u, in, now); err == nil {
			amr = mergeAMR(proved, AMRMFA)
		}
		e.Detail = "wrong_passkey"
	default:
		err = f.useTOTP(ctx, u, in.Code, now)
		e.Detail = "wrong_totp"
	}
	if errors.Is(err, ErrWrongTOTP) || errors.Is(err, ErrWrongCode) || errors.Is(err, ErrNoEnrolment) ||
		errors.Is(err, ErrPasskeyFailed) || errors.Is(err, ErrCeremonyExpired) || errors.Is(err, ErrPasskeyCloned) {
		f.audit(ctx, e, now)
		if try.Counter.Count >= limit.Free {
			f.noticeCodeFailures(ctx, limit, try.Counter, u.ID, in.Step, now)
			return fail, ErrTooManyAttempts
		}
		if try.Code.Failures >= f.c.OTP.MaxFailures {
			return fail, ErrCodeExhausted
		}
		return fail, err
	}
	if err != nil {
		return fail, err
	}
	if err := f.c.Store.ReturnAttempt(ctx, limit.Key); err != nil {
		f.c.Logger.WarnContext(ctx, "return factor attempt", "err", err)
	}
	res, err := f.passFactorStep(ctx, a, c, u, amr, in.Step, now)
	if err == nil && codes != nil {
		res.MFA = &MFAChallenge{RecoveryCodes: codes}
	}
	return res, err
}

// passFactorStep goes on with the sign-in whose second-factor step c
// (a ticket of mfaTicket, its try taken) u has passed with a factor that
// proved amr (added to what the sign-in proved before): the sign-in
// completes (or its next step starts), the ticket spent with it. A
// passkey used as the second factor ends here too, with its amr.
func (f *Flow) passFactorStep(ctx context.Context, a storage.AuthRequest, c storage.OneTimeCode, u storage.User, amr []string,
	st Step, now time.Time) (SignedIn, error) {
	s := f.stepSignIn(ctx, a, u, mergeAMR(c.AMR, amr...), st)
	if s.acr = c.ACR; s.acr == ACRPasswordEmailCode {
		s.acr = "" // the strong factor's level replaces it
	}
	s.claim = &storage.CodeClaim{ID: c.ID, UserID: u.ID, Purpose: c.Purpose, MaxFailures: f.c.OTP.MaxFailures, Tried: true}
	res, err := f.next(ctx, s, now)
	if errors.Is(err, storage.ErrAlreadyUsed) {
		return SignedIn{Request: a}, ErrStepExpired
	}
	return res, err
}

// mergeAMR is amr with vs added (once each), in RFC 8176's order of use.
func mergeAMR(amr []string, vs ...string) []string {
	out := slices.Clone(amr)
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// useTOTP accepts a code of u's authenticator app: its time step once.
func (f *Flow) useTOTP(ctx context.Context, u storage.User, code string, now time.Time) error {
	t, err := f.c.Store.GetTOTP(ctx, u.ID)
	if err != nil || !t.Confirmed() {
		return ErrWrongTOTP
	}
	step, ok, err := f.totpStep(t.SecretSealed, code, now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongTOTP
	}
	err = f.c.Store.UseTOTPStep(ctx, u.ID, step, now)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed) || errors.Is(err, storage.ErrNotFound):
		return ErrWrongTOTP // a replay: the same answer as a wrong code
	case err != nil:
		return fmt.Errorf("login: use authenticator code: %w", err)
	}
	return nil
}

// useRecoveryCode spends one of u's recovery codes, mails u and records it.
func (f *Flow) useRecoveryCode(ctx context.Context, u storage.User, code string, in FactorInput, clientID string, now time.Time) error {
	left, err := f.c.Store.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("login: count recovery codes: %w", err)
	}
	in.left = max(left-1, 0) // the mail says how many are left after this one
	c, err := f.factorMail(ctx, u, templates.FactorRecovery, templates.FactorUsed, in, now)
	if err != nil {
		return err
	}
	c.Audit = f.factorEvent(u, "mfa_recovery_used", "recovery", clientID, in.IP, now)
	err = f.c.Store.UseRecoveryCode(ctx, f.c.Hasher.Hash(recoveryKind, normalRecovery(code)), c)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed) || errors.Is(err, storage.ErrNotFound):
		return ErrWrongCode
	case err != nil:
		return fmt.Errorf("login: use recovery code: %w", err)
	}
	f.sendNow(ctx, c.Mail)
	return nil
}

// StepUp starts the strong factor for the browser's session (st's
// SessionToken), which Start found usable for a but short of what a asks:
// no password; the session keeps its sid and records the new AMR and ACR
// when the factor is passed, so SSO to other clients does not ask again.
func (f *Flow) StepUp(ctx context.Context, a storage.AuthRequest, st Step) (SignedIn, error) {
	now := f.c.Now().UTC()
	sess, ok := f.Session(ctx, st.SessionToken)
	if !ok {
		return SignedIn{Request: a}, ErrStepExpired
	}
	u, err := f.c.Store.GetUser(ctx, sess.UserID)
	if err != nil {
		return SignedIn{Request: a}, fmt.Errorf("login: load user: %w", err)
	}
	s := f.stepSignIn(ctx, a, u, slices.Clone(sess.AMR), st)
	fs, err := f.Factors(ctx, u.ID)
	if err != nil {
		return SignedIn{Request: a}, err
	}
	return f.mfaChallenge(ctx, &s, fs, now)
}
